/**
 * The chat demo's application: routes, templates, translations and the room on its broker,
 * built by {@link makeChatApp} so `server.ts` can serve it and the tests can run it on a free
 * port with a broker of their choosing.
 */
import { fileURLToPath } from 'node:url';
import type { Broker } from '../../src/broker/index.ts';
import { MemoryBroker } from '../../src/broker/index.ts';
import { loadTranslations } from '../../src/locale/index.ts';
import { Application } from '../../src/web/index.ts';
import { chatAuthSettings, LoginHandler, LogoutHandler } from './auth.ts';
import {
  MessageEventsHandler,
  MessageHistoryHandler,
  MessageNewHandler,
  MessageUpdatesHandler,
  PageHandler,
} from './handlers.ts';
import { ChatRoom, type ChatRoomOptions } from './room.ts';

/** Options of {@link makeChatApp}. */
export interface ChatAppOptions extends ChatRoomOptions {
  /** The room, when the caller wants to watch it (tests do). Default: one on `broker`. */
  room?: ChatRoom;
  /** The broker of a new room. Default: a new `MemoryBroker` (one process). */
  broker?: Broker;
  /** Application settings passed through (`debug`, `cookieSecret`, `requireSignIn`, …). */
  settings?: Record<string, unknown>;
}

/** Largest request body the chat accepts; a message is at most a few KB. */
export const CHAT_MAX_BODY_SIZE = 64 * 1024;

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * Build the chat application.
 *
 * @example
 * ```ts
 * const app = makeChatApp({ broker: new RedisBroker({ url }), settings: { cookieSecret } });
 * await app.listen(8888, '127.0.0.1', { maxBodySize: CHAT_MAX_BODY_SIZE });
 * ```
 */
export function makeChatApp(options: ChatAppOptions = {}): Application {
  const room = options.room ?? new ChatRoom(options.broker ?? new MemoryBroker(), options);
  // The page's few strings in Spanish too, picked by Accept-Language (`es`, `es-MX`, …).
  loadTranslations(here('./translations/'));
  return new Application(
    [
      [String.raw`/`, PageHandler, room],
      [String.raw`/a/message/new`, MessageNewHandler, room],
      [String.raw`/a/message/updates`, MessageUpdatesHandler, room],
      [String.raw`/a/message/events`, MessageEventsHandler, room],
      [String.raw`/a/message/history`, MessageHistoryHandler, room],
      [String.raw`/auth/login`, LoginHandler, room],
      [String.raw`/auth/logout`, LogoutHandler, room],
    ],
    chatAuthSettings({
      templatePath: here('./templates/'),
      staticPath: here('./static/'),
      ...options.settings,
    }),
  );
}
