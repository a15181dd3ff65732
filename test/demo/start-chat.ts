// Starts the chat demo on a free port of 127.0.0.1 for the demo's tests, with its room exposed
// so a test can see how many long polls and streams the server is holding.
import { EventSource } from 'eventsource';
import { MemoryBroker } from '../../src/broker/index.ts';
import { CHAT_MAX_BODY_SIZE, makeChatApp, type ChatAppOptions } from '../../demo/chat/app.ts';
import { ChatRoom } from '../../demo/chat/room.ts';

export interface RunningChat {
  port: number;
  room: ChatRoom;
  url(path: string): string;
  close(): Promise<void>;
}

export async function startChat(options: ChatAppOptions = {}): Promise<RunningChat> {
  const room = options.room ?? new ChatRoom(options.broker ?? new MemoryBroker(), options);
  // These tests exercise the chat itself; sign-in and XSRF are tested in chat-auth.test.ts.
  const settings = { requireSignIn: false, xsrfCookies: false, ...options.settings };
  const app = makeChatApp({ ...options, room, settings });
  const server = await app.listen(0, '127.0.0.1', { maxBodySize: CHAT_MAX_BODY_SIZE });
  const port = server.address()!.port;
  return {
    port,
    room,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    async close() {
      // Held polls and streams would keep a graceful stop waiting: drop every connection.
      server.closeAllConnections();
      await server.stop({ drainTimeout: 0 });
      await room.broker.close();
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

/** One event an SSE client received. */
export interface ReceivedEvent {
  type: string;
  id: string;
  data: unknown;
}

/** An `eventsource` client (a spec-following EventSource) collecting what it receives. */
export interface EventsClient {
  readonly received: ReceivedEvent[];
  /** The chat messages received, in order. */
  messages(): Array<{ body: string; position: string; offset: number }>;
  /** The `X-Chat-Task` header of the last response (which process serves this stream). */
  readonly task: string | null;
  /** Resolves once the stream is open (the response headers arrived). */
  readonly opened: Promise<void>;
  /** Resolve once `predicate(received)` holds; fail after `timeoutMs`. */
  until(
    predicate: (received: ReceivedEvent[]) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<void>;
  close(): void;
}

/** Open an EventSource on `url` with extra request `headers` (a cookie, a Last-Event-ID). */
export function openEvents(url: string, headers: Record<string, string> = {}): EventsClient {
  const received: ReceivedEvent[] = [];
  let task: string | null = null;
  let markOpen!: () => void;
  const opened = new Promise<void>((resolve) => (markOpen = resolve));
  const source = new EventSource(url, {
    fetch: async (input, init) => {
      const response = await fetch(input, { ...init, headers: { ...init.headers, ...headers } });
      task = response.headers.get('x-chat-task');
      return response;
    },
  });
  source.onopen = () => markOpen();
  source.onmessage = (event) => {
    received.push({ type: 'message', id: event.lastEventId, data: JSON.parse(event.data) });
  };
  source.addEventListener('reload', (event) => {
    received.push({ type: 'reload', id: event.lastEventId, data: JSON.parse(event.data) });
    source.close(); // as the page does: it reloads its history instead of reconnecting
  });
  return {
    received,
    messages: () =>
      received
        .filter((event) => event.type === 'message')
        .map((event) => event.data as { body: string; position: string; offset: number }),
    get task() {
      return task;
    },
    opened,
    until: (predicate, what, timeoutMs = 5000) => until(() => predicate(received), what, timeoutMs),
    close: () => source.close(),
  };
}
