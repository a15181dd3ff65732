/**
 * The chat's request handlers, in the spirit of Tornado's chat demo, on a broker:
 *
 * - `GET /` renders the page (templates/index.html): the recent history, each message through
 *   `{% module Template("message.html", …) %}`, and the position to resume after it.
 * - Every message the API sends (posted, streamed, polled, or in the history) carries `html`,
 *   the same template's rendering of it, which the page inserts as it is: one markup for a
 *   message, made and escaped on the server, whichever way it reached the page.
 * - `GET /a/message/events` streams new messages as Server-Sent Events from the page's
 *   position (`Last-Event-ID`, or `?lastEventId=` on the first connect): each event's id is
 *   the message's position, so a reconnecting browser resumes exactly where it left off.
 * - `GET /a/message/updates?cursor=POSITION` is the long poll for pages where SSE fails: the
 *   messages after the cursor at once, or the next ones to arrive (`broker.waitFor`), or an
 *   empty list after `pollTimeout` (the page asks again).
 * - `GET /a/message/history` answers the recent history and its position (a page that was told
 *   to reload asks for it); `POST /a/message/new` publishes a message.
 *
 * A position the broker cannot recover (too old, from another epoch, or not a position at all)
 * is never a 500: the stream sends a `reload` event and the poll answers `{"reload": true}`,
 * and the page reloads its history. The API answers errors as `{"error": "…"}`.
 */
import { STATUS_CODES } from 'node:http';
import { BrokerRecoveryError, BrokerUnavailableError, HTTPError } from '../../src/errors.ts';
import {
  formatPosition,
  parsePosition,
  type Publication,
  type StreamPosition,
} from '../../src/broker/index.ts';
import { taskId } from '../../src/process/index.ts';
import { authenticated, EventSourceHandler, RequestHandler } from '../../src/web/index.ts';
import { toMessage, type ChatMessage, type ChatRoom } from './room.ts';

/** The header naming the process (its `forkProcesses` task id) that answered. */
export const TASK_HEADER = 'X-Chat-Task';

/** Content-Security-Policy of the chat page: its own script and style only, no inline code. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Headers every chat response carries (a free function: the SSE handler has another base). */
function chatHeaders(handler: RequestHandler): void {
  handler.setHeader('X-Content-Type-Options', 'nosniff');
  handler.setHeader('X-Frame-Options', 'DENY');
  handler.setHeader('Referrer-Policy', 'no-referrer');
  const task = taskId();
  // Which process answered: how the multi-process tests see the requests spread.
  if (task !== null) handler.setHeader(TASK_HEADER, String(task));
}

/** The signed-in name (the signed `user` cookie); everyone is `guest` under `requireSignIn: false`. */
function chatUser(handler: RequestHandler): string | null {
  return (
    handler.getSignedCookie('user') ?? (handler.settings.requireSignIn === false ? 'guest' : null)
  );
}

/** API calls need a user; an API client gets a reason it can act on, not the login page. */
function requireUser(handler: RequestHandler): void {
  if (typeof handler.currentUser !== 'string') throw new HTTPError(403, 'sign in first');
}

/** A chat message as the API sends it: its data, and `html`, its rendering by message.html. */
export interface RenderedMessage extends ChatMessage {
  html: string;
}

/** `message` with its rendering by templates/message.html (autoescaped, as on the page). */
function rendered(handler: RequestHandler, message: ChatMessage): RenderedMessage {
  return { ...message, html: handler.renderString('message.html', { message }) };
}

// message.html depends on the message alone (no user, no locale), so one rendering of a
// publication serves every page this process hands it to: a message reaching thousands of
// held polls is rendered once, as the event stream encodes it once.
const renderedByPublication = new WeakMap<Publication, RenderedMessage>();

/** The chat messages among `publications`, in order, each rendered once per process. */
function renderPublications(
  handler: RequestHandler,
  publications: readonly Publication[],
): RenderedMessage[] {
  const out: RenderedMessage[] = [];
  for (const publication of publications) {
    let message = renderedByPublication.get(publication);
    if (message === undefined) {
      const data = toMessage(publication);
      // Not a chat message (anyone sharing the broker may publish): nothing to show.
      if (data === null) continue;
      message = rendered(handler, data);
      renderedByPublication.set(publication, message);
    }
    out.push(message);
  }
  return out;
}

/** An API error as `{"error": "…"}`: our own 4xx and 503 reasons, else the status's name. */
function writeJsonError(handler: RequestHandler, status: number, error: unknown): void {
  const mine = error instanceof HTTPError && error.logMessage !== undefined;
  const message =
    mine && (status < 500 || status === 503)
      ? error.logMessage!
      : (STATUS_CODES[status] ?? 'error').toLowerCase();
  handler.setHeader('Content-Type', 'application/json; charset=UTF-8');
  handler.setHeader('Cache-Control', 'no-store');
  // sendError cleared the headers the method set; a busy server says when to come back.
  if (status === 503) handler.setHeader('Retry-After', '5');
  void handler.finish(JSON.stringify({ error: message }));
}

/**
 * Base class of the chat's pages: the room, security headers, and the signed-in user.
 * Tornado's chat demo has no base class; its handlers reach a module-global buffer.
 */
export class ChatHandler extends RequestHandler {
  protected room!: ChatRoom;

  override initialize(room: ChatRoom): void {
    this.room = room;
  }

  override setDefaultHeaders(): void {
    super.setDefaultHeaders();
    chatHeaders(this);
  }

  override getCurrentUser(): string | null {
    return chatUser(this);
  }
}

/**
 * Base class of the `/a/...` API: never cached, a user required, and every error answered as
 * `{"error": "..."}` — also an XSRF failure, which says it is one.
 */
export class ChatApiHandler extends ChatHandler {
  override setDefaultHeaders(): void {
    super.setDefaultHeaders();
    this.setHeader('Cache-Control', 'no-store');
  }

  override checkXsrfCookie(): void {
    // Runs before prepare(): an anonymous caller learns it must sign in, not about tokens.
    requireUser(this);
    try {
      super.checkXsrfCookie();
    } catch (error) {
      if (!(error instanceof HTTPError)) throw error;
      throw new HTTPError(error.statusCode, `XSRF check failed: ${error.logMessage ?? 'no token'}`);
    }
  }

  override prepare(): void {
    requireUser(this);
  }

  override writeError(status: number, options: { error?: unknown } = {}): void {
    writeJsonError(this, status, options.error);
  }
}

/** `GET /`: the chat page, for signed-in users only. Tornado demo: `MainHandler`. */
export class PageHandler extends ChatHandler {
  override async get(): Promise<void> {
    const { messages, position } = await this.room.recent();
    this.setHeader('Content-Security-Policy', PAGE_CSP);
    this.setHeader('Cache-Control', 'no-store');
    await this.render('index.html', {
      messages,
      position,
      maxMessageLength: this.room.maxMessageLength,
    });
  }

  static {
    this.prototype.get = authenticated(this.prototype.get);
  }
}

/**
 * `POST /a/message/new`: publish a message (form field `body`, or a JSON `{"body": ...}`), at
 * most `maxMessageLength` characters, and answer it as JSON with its position and its `html`.
 * Tornado demo: `MessageNewHandler`.
 */
export class MessageNewHandler extends ChatApiHandler {
  override async post(): Promise<void> {
    const body = this.#messageBody();
    const length = [...body].length;
    if (length === 0) throw new HTTPError(400, 'message is empty');
    if (length > this.room.maxMessageLength) {
      throw new HTTPError(
        400,
        `message too long: ${length} characters, at most ${this.room.maxMessageLength}`,
      );
    }
    try {
      this.write({ ...rendered(this, await this.room.post(body, this.currentUser as string)) });
    } catch (error) {
      if (error instanceof BrokerUnavailableError) {
        throw new HTTPError(503, 'the message service is unavailable; try again soon');
      }
      throw error;
    }
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
}

/** `GET /a/message/history`: `{messages, position}`, the recent history and where it ends. */
export class MessageHistoryHandler extends ChatApiHandler {
  override async get(): Promise<void> {
    const { messages, position } = await this.room.recent();
    this.write({ messages: messages.map((message) => rendered(this, message)), position });
  }
}

/**
 * `GET /a/message/updates?cursor=POSITION`: the long poll, answering `{messages, position}`
 * (`position`: the cursor for the next poll), or `{messages: [], reload: true}` when the
 * cursor cannot be resumed from. Tornado demo: `MessageUpdatesHandler` (whose cursor is a
 * message id in a POST body).
 */
export class MessageUpdatesHandler extends ChatApiHandler {
  override async get(): Promise<void> {
    const room = this.room;
    const raw = this.getQueryArgument('cursor', null);
    let since: StreamPosition | null = null;
    if (raw !== null && raw !== '') {
      try {
        since = parsePosition(raw);
      } catch {
        this.#reload(null);
        return;
      }
    }
    if (room.waiting >= room.maxWaiters) throw new HTTPError(503, 'too many pages waiting');
    room.polls++;
    let publications: Publication[];
    try {
      publications = await room.broker.waitFor(room.channel, since, {
        timeout: room.pollTimeout,
        signal: this.signal,
        limit: room.historyLimit,
      });
    } catch (error) {
      if (!(error instanceof BrokerRecoveryError)) throw error;
      this.#reload(formatPosition(error.position));
      return;
    } finally {
      room.polls--;
    }
    // The page went away while we waited (`signal` ended the wait): nobody to answer.
    if (this.request.connection?.closed === true) return;
    const last = publications.at(-1);
    this.write({
      messages: renderPublications(this, publications),
      position: last === undefined ? (raw ?? null) : formatPosition(last),
    });
  }

  #reload(position: string | null): void {
    this.write({ messages: [], reload: true, position });
  }
}

/**
 * `GET /a/message/events`: Server-Sent Events from the client's position (its `Last-Event-ID`),
 * history first, then live, each event's id the message's position. A position the broker
 * cannot recover gets one `reload` event (`{"position": latest}`) and the end of the stream.
 */
export class MessageEventsHandler extends EventSourceHandler {
  protected room!: ChatRoom;

  override initialize(room: ChatRoom): void {
    this.room = room;
  }

  override setDefaultHeaders(): void {
    super.setDefaultHeaders();
    chatHeaders(this);
  }

  override getCurrentUser(): string | null {
    return chatUser(this);
  }

  override prepare(): void {
    requireUser(this);
    if (this.room.waiting >= this.room.maxWaiters) {
      throw new HTTPError(503, 'too many pages waiting');
    }
  }

  override writeError(status: number, options: { error?: unknown } = {}): void {
    writeJsonError(this, status, options.error);
  }

  override async get(): Promise<void> {
    const room = this.room;
    room.streams++;
    try {
      let since: StreamPosition | null = null;
      const raw = this.lastEventId;
      if (raw !== null) {
        try {
          since = parsePosition(raw);
        } catch {
          await this.sendEvent({ event: 'reload', data: { position: null } });
          return;
        }
      }
      try {
        for await (const pub of room.broker.stream(room.channel, { since, signal: this.signal })) {
          // Encoded once per publication, however many clients of this process stream it.
          const bytes = EventSourceHandler.encodeOnce(pub, () => {
            const [message] = renderPublications(this, [pub]);
            // Not a chat message: move the client's position past it, show nothing.
            return message === undefined
              ? { id: formatPosition(pub) }
              : { id: message.position, data: message };
          });
          await this.sendEncoded(bytes);
        }
      } catch (error) {
        if (!(error instanceof BrokerRecoveryError)) throw error;
        await this.sendEvent({
          event: 'reload',
          data: { position: formatPosition(error.position) },
        });
      }
    } finally {
      room.streams--;
    }
  }
}
