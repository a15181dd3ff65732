/**
 * The chat's request handlers, in the spirit of Tornado's chat demo:
 *
 * - `GET /` and `GET /static/(chat.js|chat.css|favicon.svg)` serve the page and its assets;
 * - `POST /a/message/new` adds a message (form field or JSON `body`) and answers it as JSON;
 * - `GET /a/message/updates?cursor=ID` long-polls: it answers at once with the messages newer
 *   than `cursor`, or holds the request until one arrives (or `pollTimeout` passes, answering
 *   an empty list so the page polls again). When the browser goes away first,
 *   `onConnectionClose` cancels the wait, so nothing is kept for a page that no longer exists.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Future } from '../../src/concurrent.ts';
import { CancelledError, HTTPError } from '../../src/errors.ts';
import { RequestHandler } from '../../src/web/index.ts';
import { authenticated } from '../../src/web/auth.ts';
import type { ChatMessage, MessageBuffer } from './message-buffer.ts';

/** What every chat handler receives as its init arguments (see app.ts). */
export interface ChatContext {
  messages: MessageBuffer;
  /** Longest message accepted, in characters (code points). */
  maxMessageLength: number;
  /** How long a poll is held before it answers an empty list, in ms. */
  pollTimeout: number;
  /** Most polls held at once; more get 503 (each held poll costs a socket and memory). */
  maxWaiters: number;
}

/**
 * Base class of the chat's handlers: the shared context and security headers. Sign-in
 * (issue 6) belongs here: `getCurrentUser()` reading a signed cookie, which the handlers
 * below then use to stamp `author` and to refuse anonymous posts.
 *
 * Tornado's chat demo has no base class; its handlers reach a module-global buffer.
 */
export class ChatHandler extends RequestHandler {
  protected chat!: ChatContext;

  override initialize(context: ChatContext): void {
    this.chat = context;
  }

  override setDefaultHeaders(): void {
    super.setDefaultHeaders();
    this.setHeader('X-Content-Type-Options', 'nosniff');
    this.setHeader('X-Frame-Options', 'DENY');
    this.setHeader('Referrer-Policy', 'no-referrer');
  }

  /** Sign-in (issue 6, see auth.ts): the signed `user` cookie; everyone is `guest` when off. */
  override getCurrentUser(): string | null {
    return this.getSignedCookie('user') ?? (this.settings.requireSignIn === false ? 'guest' : null);
  }
}

/**
 * Base class of the `/a/...` API handlers: never cached, and errors answered as
 * `{"error": "..."}` so the page can show why a post was refused.
 */
export class ChatApiHandler extends ChatHandler {
  override setDefaultHeaders(): void {
    super.setDefaultHeaders();
    this.setHeader('Cache-Control', 'no-store');
  }

  override writeError(status: number, options: { error?: unknown } = {}): void {
    const error = options.error;
    // Our own 4xx messages are written for the user; anything else stays generic.
    const message =
      status < 500 && error instanceof HTTPError && error.logMessage
        ? error.logMessage
        : status < 500
          ? 'bad request'
          : 'internal error';
    this.setHeader('Content-Type', 'application/json; charset=UTF-8');
    // sendError cleared the headers the method set; a busy server says when to come back.
    if (status === 503) this.setHeader('Retry-After', '5');
    void this.finish(JSON.stringify({ error: message }));
  }
}

// The page and its assets are read once at startup: a few small files, served from memory,
// and only these names — no path from the URL ever reaches the file system.
const staticDir = fileURLToPath(new URL('./static/', import.meta.url));
const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'index.html': { type: 'text/html; charset=UTF-8', body: readFileSync(`${staticDir}index.html`) },
  'chat.js': {
    type: 'text/javascript; charset=UTF-8',
    body: readFileSync(`${staticDir}chat.js`),
  },
  'chat.css': { type: 'text/css; charset=UTF-8', body: readFileSync(`${staticDir}chat.css`) },
  'favicon.svg': { type: 'image/svg+xml', body: readFileSync(`${staticDir}favicon.svg`) },
};

/** Content-Security-Policy of the page: its own script and style only, no inline code. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** `GET /static/NAME`: the page's script, style and icon, public (the sign-in page uses them). */
export class AssetHandler extends ChatHandler {
  override get(name?: string): void {
    const asset = ASSETS[name ?? 'index.html'];
    if (asset === undefined) throw new HTTPError(404);
    this.setHeader('Content-Type', asset.type);
    if (name === undefined) this.setHeader('Content-Security-Policy', PAGE_CSP);
    this.setHeader('Cache-Control', 'no-cache');
    this.write(asset.body);
  }
}

/** `GET /`: the chat page, for signed-in users only. */
export class PageHandler extends AssetHandler {
  static {
    this.prototype.get = authenticated(this.prototype.get); // sign-in (issue 6)
  }
}

/**
 * `POST /a/message/new`: add a message (form field `body`, or a JSON `{"body": ...}`), at most
 * `maxMessageLength` characters, and answer it as JSON. Tornado demo: `MessageNewHandler`.
 */
export class MessageNewHandler extends ChatApiHandler {
  override post(): void {
    const body = this.#messageBody();
    const length = [...body].length;
    if (length === 0) throw new HTTPError(400, 'message is empty');
    if (length > this.chat.maxMessageLength) {
      throw new HTTPError(
        400,
        `message too long: ${length} characters, at most ${this.chat.maxMessageLength}`,
      );
    }
    const author = typeof this.currentUser === 'string' ? this.currentUser : null;
    const message: ChatMessage = this.chat.messages.add(body, author);
    this.write({ ...message });
  }

  #messageBody(): string {
    const type = this.request.headers.get('Content-Type') ?? '';
    if (/^application\/json\b/i.test(type)) {
      const json = this.getJsonBody() as { body?: unknown } | null;
      if (json === null || typeof json !== 'object' || typeof json.body !== 'string') {
        throw new HTTPError(400, 'JSON body needs a string "body"');
      }
      return json.body.trim();
    }
    return this.getArgument('body');
  }

  static {
    this.prototype.post = authenticated(this.prototype.post); // sign-in (issue 6)
  }
}

/**
 * `GET /a/message/updates?cursor=ID`: the long poll, answering `{"messages": [...]}`.
 * Tornado demo: `MessageUpdatesHandler` (which takes the cursor in a POST body).
 */
export class MessageUpdatesHandler extends ChatApiHandler {
  #wait: Future<boolean> | null = null;

  override async get(): Promise<void> {
    const cursor = parseCursor(this.getQueryArgument('cursor', null));
    const { messages } = this.chat;
    let found = messages.since(cursor);
    while (found.length === 0) {
      if (messages.waiting >= this.chat.maxWaiters) {
        throw new HTTPError(503, 'too many pages waiting');
      }
      this.#wait = messages.waitForMessage(this.chat.pollTimeout);
      let arrived: boolean;
      try {
        arrived = await this.#wait;
      } catch (error) {
        // onConnectionClose cancelled the wait: the page is gone, nobody to answer.
        if (error instanceof CancelledError) return;
        throw error;
      } finally {
        this.#wait = null;
      }
      if (!arrived) break; // poll timeout: answer an empty list, the page asks again
      found = messages.since(cursor);
    }
    this.write({ messages: found });
  }

  override onConnectionClose(): void {
    this.#wait?.cancel();
  }

  static {
    this.prototype.get = authenticated(this.prototype.get); // sign-in (issue 6)
  }
}

/** The cursor query argument: absent, or the decimal id of the newest message the page has. */
function parseCursor(raw: string | null): number | null {
  if (raw === null || raw === '') return null;
  if (!/^\d{1,15}$/.test(raw)) throw new HTTPError(400, 'cursor must be a message id');
  return Number(raw);
}
