/**
 * The typhoon side of the scale and soak benchmarks, written as a user would write it:
 * `forkProcesses(P)`, one `Application` per child, a `RedisBroker`, and the handler of
 * bench/peers/sse-handler.ts streaming a channel from the client's `Last-Event-ID`.
 *
 * Usage: `node --expose-gc bench/peers/typhoon-sse-server.ts PORT PROCESSES REDIS_URL PREFIX`
 * → every child prints `worker PID` once it listens. `SIGUSR2` makes a child collect garbage
 * (so RSS readings after it are comparable).
 */
import cluster from 'node:cluster';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RedisBroker } from '../../src/broker/index.ts';
import { configureLogging } from '../../src/log.ts';
import { forkProcesses } from '../../src/process/index.ts';
import { Application } from '../../src/web/index.ts';
import { collectGarbage, exitWithParent } from './child.ts';
import { brokerEvents } from './sse-handler.ts';

configureLogging({ level: 'warning' });
const [, , portArg = '0', processesArg = '1', url = 'redis://127.0.0.1:6379', prefix = 'bench:'] =
  process.argv;

if (cluster.isPrimary) exitWithParent();
await forkProcesses(Number(processesArg), { maxRestarts: 0 });

const broker = new RedisBroker({ url, keyPrefix: prefix });

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
const app = new Application([['/events/([^/]+)', brokerEvents(broker)]]);
await app.listen(Number(portArg), '127.0.0.1');
process.stdout.write(`worker ${process.pid}\n`);
