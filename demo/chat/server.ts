/**
 * `npm start`: the real-time chat demo on http://127.0.0.1:8888. Open it in two browser
 * windows and talk to yourself. `npm start -- --help` lists the options (cli.ts).
 *
 * One process by default, with the in-process `MemoryBroker` and no dependency. With
 * `--processes 4 --redis-url redis://127.0.0.1:6379` four processes share the port
 * (`forkProcesses`) and one Redis (`RedisBroker`), so a message posted to any of them reaches
 * the pages held by all of them — and by other machines running the same command against the
 * same Redis (give them one `--cookie-secret`).
 *
 * Every open page holds one Server-Sent Events stream (or a long poll), idle until someone
 * posts: the long-lived, mostly idle connection per user that typhoon is built to hold cheaply.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { MemoryBroker, RedisBroker, type Broker } from '../../src/broker/index.ts';
import { OptionError } from '../../src/errors.ts';
import { forkProcesses, taskId } from '../../src/process/index.ts';
import { CHAT_MAX_BODY_SIZE, makeChatApp } from './app.ts';
import { ChatConfigError, parseChatOptions, type ChatOptions } from './cli.ts';

/** Redis keys and pub/sub channels of the demo start with this. */
const KEY_PREFIX = 'typhoon-chat:';
/** How the primary hands a made-up cookie secret to its children (they inherit its env). */
const SECRET_ENV = 'TYPHOON_CHAT_COOKIE_SECRET';

let options: ChatOptions;
try {
  options = parseChatOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof OptionError || error instanceof ChatConfigError)) throw error;
  console.error(`typhoon chat: ${error.message}\nRun with --help to see the options.`);
  process.exit(2);
}

// Code before forkProcesses() runs in every process (Node has no fork()): these checks run
// once, in the primary, so that a Redis that is not there is one clear message, not a
// crash-and-restart loop of children.
if (cluster.isPrimary && options.redisUrl !== null) {
  const probe = new RedisBroker({ url: options.redisUrl, keyPrefix: KEY_PREFIX });
  try {
    await probe.history('chat', { limit: 0 });
  } catch (error) {
    console.error(`typhoon chat: cannot use Redis at ${options.redisUrl}: ${String(error)}`);
    process.exit(1);
  } finally {
    await probe.close();
  }
}
// Every process of a run must sign cookies alike, or a sign-in would not survive the next
// request landing on another process: the primary makes one secret and its children inherit it.
const cookieSecret =
  options.cookieSecret ?? (process.env[SECRET_ENV] ??= randomBytes(32).toString('base64'));

if (options.processes !== 1) await forkProcesses(options.processes); // children only, past here

const task = taskId();
// Which process speaks: its task id and pid (to tell a fleet's processes apart, and to stop one).
const who = task === null ? '' : ` (process ${task}, pid ${process.pid})`;
const broker: Broker =
  options.redisUrl === null
    ? new MemoryBroker()
    : new RedisBroker({ url: options.redisUrl, keyPrefix: KEY_PREFIX });
const app = makeChatApp({ broker, settings: { debug: options.debug, cookieSecret } });
const server = await app.listen(options.port, options.host, { maxBodySize: CHAT_MAX_BODY_SIZE });
const port = server.address()?.port ?? options.port;
const host = options.host.includes(':') ? `[${options.host}]` : options.host;
console.log(`typhoon chat demo: http://${host}:${port}/${who}`);

// Each process drains its own server: under forkProcesses the primary forwards the signal
// and waits for its children; typhoon installs no handler of its own in them.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // Ctrl-C reaches a child twice (from the terminal and from the primary): once is enough,
    // and the drain is bounded by --drain-timeout anyway.
    if (stopping) return;
    stopping = true;
    void (async () => {
      // Held streams and polls never finish on their own: they get the drain timeout.
      await server.stop({ drainTimeout: options.drainTimeout });
      await broker.close().then(undefined, () => undefined);
      console.log(`typhoon chat demo stopped${who}`);
      process.exit(0);
    })();
  });
}
