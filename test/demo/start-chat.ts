// Starts the chat demo on a free port of 127.0.0.1 for the demo's tests, with its message
// buffer exposed so a test can see how many long polls the server is holding.
import { CHAT_MAX_BODY_SIZE, makeChatApp, type ChatAppOptions } from '../../demo/chat/app.ts';
import { MessageBuffer } from '../../demo/chat/message-buffer.ts';

export interface RunningChat {
  port: number;
  messages: MessageBuffer;
  url(path: string): string;
  close(): Promise<void>;
}

export async function startChat(
  options: ChatAppOptions & { maxHistory?: number } = {},
): Promise<RunningChat> {
  const messages = options.messages ?? new MessageBuffer({ maxHistory: options.maxHistory ?? 200 });
  // These tests exercise the chat itself; its sign-in is tested in chat-auth.test.ts.
  const settings = { requireSignIn: false, ...options.settings };
  const app = makeChatApp({ ...options, messages, settings });
  const server = await app.listen(0, '127.0.0.1', { maxBodySize: CHAT_MAX_BODY_SIZE });
  const port = server.address()!.port;
  return {
    port,
    messages,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    async close() {
      // Held polls would keep a graceful stop waiting: drop every connection.
      server.closeAllConnections();
      await server.stop({ drainTimeout: 0 });
    },
  };
}

/** Poll `predicate` every 10 ms until it holds; fail after `timeoutMs` naming `what`. */
export async function until(
  predicate: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
