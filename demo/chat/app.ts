/**
 * The chat demo's application: routes, limits and the shared message buffer, built by
 * {@link makeChatApp} so `server.ts` can serve it on :8888 and the tests on a free port.
 */
import { Application } from '../../src/web/index.ts';
import type { ChatContext } from './handlers.ts';
import { AssetHandler, MessageNewHandler, MessageUpdatesHandler, PageHandler } from './handlers.ts';
import { MessageBuffer } from './message-buffer.ts';
import { chatAuthSettings, LoginHandler, LogoutHandler } from './auth.ts';

/** Options of {@link makeChatApp}; every limit has a default. */
export interface ChatAppOptions {
  /** The message store; pass your own to inspect it (tests do). Default: a new one. */
  messages?: MessageBuffer;
  /** Messages kept when `messages` is not given. Default 200. */
  maxHistory?: number;
  /** Longest message accepted, in characters. Default 1 000. */
  maxMessageLength?: number;
  /** How long a poll is held before answering an empty list, in ms. Default 30 000. */
  pollTimeout?: number;
  /** Most polls held at once; more get 503. Default 10 000. */
  maxWaiters?: number;
  /** Application settings passed through (`debug`, later `cookieSecret`, `loginUrl`, …). */
  settings?: Record<string, unknown>;
}

/** Largest request body the chat accepts; a message is at most a few KB. */
export const CHAT_MAX_BODY_SIZE = 64 * 1024;

/**
 * Build the chat application.
 *
 * @example
 * ```ts
 * const app = makeChatApp({ maxHistory: 50 });
 * await app.listen(8888, '127.0.0.1', { maxBodySize: CHAT_MAX_BODY_SIZE });
 * ```
 */
export function makeChatApp(options: ChatAppOptions = {}): Application {
  const context: ChatContext = {
    messages: options.messages ?? new MessageBuffer({ maxHistory: options.maxHistory ?? 200 }),
    maxMessageLength: options.maxMessageLength ?? 1000,
    pollTimeout: options.pollTimeout ?? 30_000,
    maxWaiters: options.maxWaiters ?? 10_000,
  };
  return new Application(
    [
      [String.raw`/`, PageHandler, context],
      [String.raw`/static/([a-z]+\.(?:js|css|svg))`, AssetHandler, context],
      [String.raw`/a/message/new`, MessageNewHandler, context],
      [String.raw`/a/message/updates`, MessageUpdatesHandler, context],
      // Sign-in (issue 6): a signed `user` cookie; the page and the API require it.
      [String.raw`/auth/login`, LoginHandler, context],
      [String.raw`/auth/logout`, LogoutHandler, context],
    ],
    chatAuthSettings(options.settings),
  );
}
