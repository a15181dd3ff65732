/**
 * `npm start`: the real-time chat demo on http://127.0.0.1:8888 (override with the HOST and
 * PORT environment variables). Open it in two browser windows and talk to yourself.
 *
 * Every open page holds one long-poll request, idle until someone posts — the long-lived,
 * mostly idle connection per user that typhoon is built to hold cheaply.
 */
import { configureLogging } from '../../src/log.ts';
import { CHAT_MAX_BODY_SIZE, makeChatApp } from './app.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8888);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${process.env.PORT}`);
  process.exit(2);
}

configureLogging({ level: 'info' });
const app = makeChatApp();
const server = await app.listen(port, host, { maxBodySize: CHAT_MAX_BODY_SIZE });
const bound = server.address()?.port ?? port;
console.log(`typhoon chat demo: http://${host.includes(':') ? `[${host}]` : host}:${bound}/`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    // Held polls never finish on their own; give in-flight posts a moment, then close.
    void server.stop({ drainTimeout: 1000 }).then(() => process.exit(0));
  });
}
