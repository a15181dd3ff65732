/**
 * The typhoon side of the scale and soak benchmarks, written as a user would write it:
 * `forkProcesses(P)`, one `Application` per child, a `RedisBroker`, and an
 * `EventSourceHandler` that streams a channel from the client's `Last-Event-ID`, each
 * publication encoded once for all the clients of a process (`encodeOnce`).
 *
 * The handler ends its stream from `onConnectionClose()` instead of passing `signal` to the
 * broker: the close notice is there anyway, and an `AbortSignal` per held connection costs
 * about a kilobyte.
 *
 * Usage: `node --expose-gc bench/peers/typhoon-sse-server.ts PORT PROCESSES REDIS_URL PREFIX`
 * → every child prints `worker PID` once it listens. `SIGUSR2` makes a child collect garbage
 * (so RSS readings after it are comparable).
 */
import cluster from 'node:cluster';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  BrokerRecoveryError,
  RedisBroker,
  formatPosition,
  parsePosition,
  type Publication,
  type StreamPosition,
} from '../../src/broker/index.ts';
import { configureLogging } from '../../src/log.ts';
import { forkProcesses } from '../../src/process/index.ts';
import { Application, EventSourceHandler } from '../../src/web/index.ts';
import { collectGarbage, exitWithParent } from './child.ts';

configureLogging({ level: 'warning' });
const [, , portArg = '0', processesArg = '1', url = 'redis://127.0.0.1:6379', prefix = 'bench:'] =
  process.argv;

if (cluster.isPrimary) exitWithParent();
await forkProcesses(Number(processesArg), { maxRestarts: 0 });

const broker = new RedisBroker({ url, keyPrefix: prefix });

class Events extends EventSourceHandler {
  #stream: AsyncIterableIterator<Publication> | undefined;

  override async get(channel: string): Promise<void> {
    let since: StreamPosition | null = null;
    const last = this.lastEventId;
    if (last !== null) {
      try {
        since = parsePosition(last);
      } catch {
        await this.sendEvent({ event: 'reset', data: 'unreadable Last-Event-ID' });
        return;
      }
    }
    const stream = broker.stream(channel, { since });
    this.#stream = stream;
    try {
      for await (const pub of stream) {
        await this.sendEncoded(
          EventSourceHandler.encodeOnce(pub, () => ({ id: formatPosition(pub), data: pub.data })),
        );
      }
    } catch (error) {
      if (!(error instanceof BrokerRecoveryError)) throw error;
      // The page must reload its state: tell it so, never a silent gap.
      await this.sendEvent({ event: 'reset', data: error.message });
    }
  }

  override onConnectionClose(): void {
    void this.#stream?.return?.();
  }
}

const delay = monitorEventLoopDelay({ resolution: 20 });
delay.enable();
process.on('SIGUSR2', () => {
  collectGarbage();
  const m = process.memoryUsage();
  process.stdout.write(
    `heap ${process.pid} ${m.heapUsed} ${m.external} ${m.rss} loop-delay-max ` +
      `${(delay.max / 1e6).toFixed(0)} ms\n`,
  );
  delay.reset();
});
const app = new Application([['/events/([^/]+)', Events]]);
await app.listen(Number(portArg), '127.0.0.1');
process.stdout.write(`worker ${process.pid}\n`);
