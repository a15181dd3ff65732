/**
 * The per-request side of {@link HTTPServer}: one {@link RequestContext} per request is the
 * {@link HTTPConnection} a handler answers through (status line and headers, writes, finish,
 * detach for upgrades and streaming), and the reader of the request body (the `maxBodySize`
 * count, raw or after gunzip, the `bodyTimeout` timer, `100 Continue`, flow control while a
 * delegate's `dataReceived` is pending). It also keeps the per-socket state that lets
 * `stop()` drain pipelined requests and tell handlers when their client went away.
 *
 * Separate from `httpserver.ts` because it is the lifetime of one request, where the server
 * module is the lifetime of the listener (options, listen, stop, upgrade routing). Node's
 * listeners here are shared module functions that find their context through a symbol on the
 * request, so the hot path allocates no closure per request.
 * Tornado: the server side of `tornado.http1connection.HTTP1Connection`.
 * @module
 */

import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import * as http from 'node:http';
import type * as net from 'node:net';
import * as zlib from 'node:zlib';
import { genLog, appLog } from '../log.ts';
import { isThenable } from '../concurrent.ts';
import { httpDateNow } from '../internal/http-date.ts';
import { kFinishWithLines } from '../internal/symbols.ts';
import {
  HTTPHeaders,
  type HTTPConnection,
  type HTTPMessageDelegate,
  type RawConnection,
  type WriteCallback,
} from '../httputil/index.ts';
import {
  NO_FRAMING,
  kRejected,
  rejectRequest,
  remoteAddressOf,
  respondAndClose,
  type FramingHeaders,
} from './framing.ts';

const kContext = Symbol('typhoon.httpserver.context');
/**
 * Largest bytes body `finish` sends as a latin1 string joined to the header block. Past it
 * the copies cost more than the second write saves, and node's one-write path keeps a
 * 16 KiB stack buffer for header and body together.
 */
const LATIN1_BODY_MAX = 8192;
// The header block of a response. Given headers, node checks every name and value again
// (two regexes each), lower-cases each name to look for the framing headers, and joins it all
// with the status line, Date and the keep-alive headers: for a small JSON response that was
// more instructions than all of typhoon's own routing and handler work. Headers from the
// handler's fields were checked when they were set and are never framing headers, so the block
// for them is built here, with node's own rules for Date and keep-alive, into the fields
// node's `_storeHeader` fills. Those fields are node internals: they are looked up once, and
// if a release lacks them every response takes `writeHead` as before.

/** The `ServerResponse` fields node's `_storeHeader` and `writeHead` fill (node 22 and 24). */
interface ResponseInternals {
  _header: string | null;
  _headerSent: boolean;
  _contentLength: number | null;
  _removedContLen: boolean;
  _removedConnection: boolean;
  _last: boolean;
  _keepAliveTimeout: number;
  _defaultKeepAlive: boolean;
  _maxRequestsPerSocket?: number;
  _expect_continue?: boolean;
  _sent100?: boolean;
  shouldKeepAlive: boolean;
  maxRequestsOnConnectionReached: boolean;
  sendDate: boolean;
  statusCode: number;
  statusMessage: string;
}

/** node's slot for headers set with `res.setHeader`; null when none were. */
const kOutHeaders: symbol | undefined = (() => {
  const probe = new http.OutgoingMessage() as unknown as Record<string | symbol, unknown>;
  const symbol = Object.getOwnPropertySymbols(probe).find((s) => s.description === 'kOutHeaders');
  const fields = ['_header', '_headerSent', '_contentLength', '_removedContLen'] as const;
  const ok =
    symbol !== undefined &&
    probe[symbol] === null &&
    fields.every((name) => name in probe) &&
    typeof (http.OutgoingMessage.prototype as unknown as { _send?: unknown })._send === 'function';
  return ok ? symbol : undefined;
})();

let headerBlocks = kOutHeaders !== undefined;

/**
 * Whether responses may take the header block path (on by default where node has the fields
 * it needs). For tests that compare its bytes with node's own; returns the previous setting.
 * @internal
 */
export function useHeaderBlocks(on: boolean): boolean {
  const previous = headerBlocks;
  headerBlocks = on && kOutHeaders !== undefined;
  return previous;
}

// The `Keep-Alive` line with its closing blank line, for the last timeout and limit seen.
let keepAliveKey = -1;
let keepAliveMax = -1;
let keepAliveTail = '';

function keepAliveLines(res: ResponseInternals): string {
  const timeout = res._keepAliveTimeout;
  const max = ~~(res._maxRequestsPerSocket ?? 0);
  if (timeout !== keepAliveKey || max !== keepAliveMax) {
    keepAliveKey = timeout;
    keepAliveMax = max;
    keepAliveTail =
      'Connection: keep-alive\r\nKeep-Alive: timeout=' +
      Math.floor(timeout / 1000) +
      (max > 0 ? `, max=${max}` : '') +
      '\r\n\r\n';
  }
  return keepAliveTail;
}

/** Where a socket keeps its {@link ConnectionState}, set on its first request. */
export const kConnection = Symbol('typhoon.httpserver.connection');

// The requests in flight on one connection, in arrival order. Almost always one (pipelining is
// rare), so the first sits in a field and a Set is made only for more: a held connection keeps
// ~0.15 KB less than with a Set per connection. `first`, when set, arrived before everything
// in `more`.

/** Count a request of `state`'s connection as in flight. */
export function addActive(state: ConnectionState, ctx: RequestContext): void {
  const more = state.more;
  if (state.first === undefined && (more === undefined || more.size === 0)) state.first = ctx;
  else (state.more ??= new Set()).add(ctx);
}

/** The request is no longer in flight. */
export function removeActive(state: ConnectionState, ctx: RequestContext): void {
  if (state.first === ctx) state.first = undefined;
  else state.more?.delete(ctx);
}

/** How many requests of the connection are in flight. */
export function activeCount(state: ConnectionState): number {
  const more = state.more;
  return (state.first === undefined ? 0 : 1) + (more === undefined ? 0 : more.size);
}

/** Whether `ctx` is in flight. */
export function isActive(state: ConnectionState, ctx: RequestContext): boolean {
  return state.first === ctx || (state.more?.has(ctx) ?? false);
}

/** Call `fn` for each request in flight, oldest first; `fn` may end requests as it goes. */
export function eachActive(state: ConnectionState, fn: (ctx: RequestContext) => void): void {
  const first = state.first;
  const more = state.more;
  if (first !== undefined) fn(first);
  if (more !== undefined && more.size > 0) for (const ctx of [...more]) fn(ctx);
}

/** The requests in flight on one socket, and the server's set that socket belongs to. */
export interface ConnectionState {
  /** The oldest request in flight (see `addActive`). */
  first: RequestContext | undefined;
  /** The other requests in flight, when pipelined requests overlap. */
  more: Set<RequestContext> | undefined;
  /**
   * The request that arrived last on this socket. Node answers pipelined requests in arrival
   * order, so only its response may say `Connection: close` when draining.
   */
  last: RequestContext | undefined;
  /** The request that arrived before `last` (while requests were in flight), if any. */
  previous: RequestContext | undefined;
  /** The server's set of live connection states (for stop() to wait on). */
  live: Set<ConnectionState>;
  socket: net.Socket;
  /** The peer's address, read once per connection (node's getter costs a call per read). */
  remoteIp: string;
  /** For the `writeTimeout` sweep: unsent bytes, bytes the kernel took, when those last grew. */
  pending: number;
  sent: number;
  lastProgress: number;
  /**
   * Set when the client's next message could not be parsed while requests were in flight:
   * the bare error answer, sent once the last of them has finished (their responses first).
   */
  afterActive?: () => void;
}

/** Run `state.afterActive` once no request of the connection is in flight any more. */
function settleIfIdle(state: ConnectionState): void {
  const after = state.afterActive;
  if (after === undefined || activeCount(state) !== 0) return;
  state.afterActive = undefined;
  after();
}

/**
 * Call `fn` once every response node holds for `socket` is written. Node sends pipelined
 * responses in arrival order, so the finish of `lastArrived` (the response of the request that
 * arrived last and will be answered) means all are out. Without it, the response node has on
 * the socket is waited for, then the next one it hands the socket to (`skip`: a response that
 * will never finish, not waited for).
 */
export function whenResponsesOut(
  socket: net.Socket,
  lastArrived: http.ServerResponse | undefined,
  skip: http.ServerResponse | undefined,
  fn: () => void,
): void {
  const current =
    lastArrived ?? (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (
    current === undefined ||
    current === null ||
    current === skip ||
    current.writableFinished ||
    current.destroyed ||
    socket.destroyed
  ) {
    fn();
    return;
  }
  let called = false;
  const next = (): void => {
    if (called) return;
    called = true;
    if (lastArrived !== undefined) fn();
    // node's own 'finish' listener, added first, has handed the socket to the next response.
    else whenResponsesOut(socket, undefined, skip, fn);
  };
  current.once('finish', next);
  current.once('close', next);
}

/** The server's live connection states; `stop()` sets `onEmpty` to learn when the last closes. */
export type LiveSet = Set<ConnectionState> & { onEmpty?: () => void };

/** A socket as the server tags it: its connection state, and whether a request was refused. */
export type TaggedSocket = net.Socket & { [kConnection]?: ConnectionState; [kRejected]?: boolean };
type TaggedRequest = http.IncomingMessage & { [kContext]?: RequestContext };

/** Settings resolved once per server, read by every request. */
export interface ServerSettings {
  xheaders: boolean;
  trustedDownstream: ReadonlySet<string>;
  noKeepAlive: boolean;
  decompressRequest: boolean;
  maxHeaderCount: number;
  maxBodySize: number;
  maxFields: number;
  bodyTimeout: number;
  bodyIdleTimeout: number;
  writeTimeout: number;
  protocol: string;
  stopping: boolean;
  /** The bodies being read under `bodyTimeout`, behind the server's one timer for them. */
  bodyDeadlines: BodyDeadlines;
}

/**
 * The request bodies being read under the server's `bodyTimeout`, oldest first, behind one
 * timer: each body is a link in a list instead of a `Timeout` of its own (an object, an async
 * resource, a timer-list insert and a removal per request). All share one duration, so
 * appending keeps the list in deadline order; the timer is armed for the head only, and
 * when it fires every body past its deadline gets its 408 and the timer moves to the next
 * head. A request whose handler changed its own `bodyTimeout` gets a timer of its own.
 */
export class BodyDeadlines {
  #head: RequestContext | undefined;
  #tail: RequestContext | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  add(ctx: RequestContext, deadline: number): void {
    ctx.deadline = deadline;
    ctx.listed = true;
    const tail = this.#tail;
    ctx.prevBody = tail;
    ctx.nextBody = undefined;
    if (tail === undefined) this.#head = ctx;
    else tail.nextBody = ctx;
    this.#tail = ctx;
    if (this.#timer === undefined) this.#arm(deadline);
  }

  /** Unlink `ctx` (its body ended or its request is over). The timer stays: see `#fire`. */
  remove(ctx: RequestContext): void {
    ctx.listed = false;
    const prev = ctx.prevBody;
    const next = ctx.nextBody;
    if (prev === undefined) this.#head = next;
    else prev.nextBody = next;
    if (next === undefined) this.#tail = prev;
    else next.prevBody = prev;
    ctx.prevBody = ctx.nextBody = undefined;
  }

  #arm(deadline: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(deadline - performance.now())));
    // Like the bodies' sockets, which hold the process open while they are read.
    this.#timer.unref();
  }

  // A head that left the list before its deadline is not chased: the timer fires once for
  // it, finds the next head not due, and re-arms for that one.
  #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    let ctx = this.#head;
    while (ctx !== undefined && ctx.deadline <= now) {
      this.remove(ctx);
      ctx.timedOut();
      ctx = this.#head;
    }
    if (ctx !== undefined) this.#arm(ctx.deadline);
  };
}

/**
 * The response side of one request over Node's `ServerResponse`, and the reader of its body.
 * One object per request; Node's `data`/`end` listeners are shared functions that find it
 * through a symbol on the request, so no closure is allocated per request.
 */
export class RequestContext implements HTTPConnection {
  readonly head: Buffer | undefined;
  #raw: RawConnection | undefined;
  readonly req: TaggedRequest;
  readonly res: http.ServerResponse;
  readonly settings: ServerSettings;
  readonly state: ConnectionState;
  delegate!: HTTPMessageDelegate;
  maxBodySize: number;
  bodyTimeout: number;
  bytesReceived = 0;
  decompressed = 0;
  gunzip: zlib.Gunzip | undefined;
  /** A body timer of its own, when the handler changed `bodyTimeout` (else see `listed`). */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** In the server's {@link BodyDeadlines}: links, and when the body is due. */
  listed = false;
  prevBody: RequestContext | undefined = undefined;
  nextBody: RequestContext | undefined = undefined;
  deadline = 0;
  /** Framing headers found by the server's one pass over `rawHeaders` (see `scanHeaders`). */
  framing: FramingHeaders = NO_FRAMING;
  done = false;
  aborted = false;
  closeNotified = false;
  /** Between `readBody` and the body's end: what the `bodyIdleTimeout` sweep looks at. */
  readingBody = false;
  /** For the sweep: the byte count it last saw, and when the count last moved (0: not yet). */
  sweepBytes = 0;
  sweepTime = 0;
  /** `writeHeaders` built the header block and nothing has sent it yet (see `finish`). */
  headPending = false;

  constructor(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    settings: ServerSettings,
    state: ConnectionState,
    head?: Buffer,
  ) {
    this.req = req;
    this.res = res;
    this.settings = settings;
    this.state = state;
    this.maxBodySize = settings.maxBodySize;
    this.bodyTimeout = settings.bodyTimeout;
    this.head = head;
  }

  /** The Node objects, made on first use (most requests never detach). */
  get raw(): RawConnection {
    // An upgrade request's `res` only answers refusals; whoever detaches gets the socket.
    return (this.#raw ??=
      this.head === undefined
        ? { req: this.req, res: this.res, socket: this.req.socket }
        : { req: this.req, socket: this.req.socket, head: this.head });
  }

  get closed(): boolean {
    return this.req.socket.destroyed;
  }

  setMaxBodySize(bytes: number): void {
    this.maxBodySize = bytes;
  }

  setBodyTimeout(ms: number): void {
    this.bodyTimeout = ms;
  }

  #prepareKeepAlive(): void {
    const settings = this.settings;
    if (settings.noKeepAlive) {
      this.res.shouldKeepAlive = false;
    } else if (settings.stopping) {
      // Draining: close after this response only if no later request arrived on the socket.
      // Handlers finish in any order but node writes answers in arrival order: closing after
      // an earlier one would lose the answers queued behind it.
      if (this.state.last === this) this.res.shouldKeepAlive = false;
    }
  }

  writeHeaders(
    statusCode: number,
    reason: string,
    headers: HTTPHeaders | readonly string[],
    chunk?: Uint8Array | null,
    callback?: WriteCallback,
  ): void {
    const res = this.res;
    this.#prepareKeepAlive();
    res.writeHead(
      statusCode,
      reason,
      (headers instanceof HTTPHeaders ? headers.toFlatArray() : headers) as string[],
    );
    if (chunk !== undefined && chunk !== null && chunk.length > 0) {
      res.write(chunk, callback);
    } else if (callback !== undefined) {
      res.flushHeaders();
      callback();
    } else {
      this.headPending = true;
    }
  }

  write(chunk: Uint8Array, callback?: WriteCallback): void {
    if (chunk.length === 0) {
      callback?.();
      return;
    }
    this.headPending = false;
    this.res.write(chunk, callback);
  }

  detach(): RawConnection {
    this.done = true;
    this.clearTimer();
    removeActive(this.state, this);
    if (this.raw.res === undefined) this.res.detachSocket(this.req.socket);
    return this.raw;
  }

  finish(chunk?: Uint8Array | string | null): void {
    if (this.done) return;
    this.done = true;
    // Answered before the whole body arrived (a handler refusing a streamed upload): the body
    // timer must not keep running for an hour, holding the process open.
    this.clearTimer();
    removeActive(this.state, this);
    if (chunk === undefined || chunk === null || chunk.length === 0) this.res.end();
    else if (
      typeof chunk !== 'string' &&
      this.headPending &&
      chunk.length <= LATIN1_BODY_MAX &&
      Buffer.isBuffer(chunk)
    ) {
      // Node joins a string body to the pending header block and sends both in one write;
      // bytes would go out as a second buffer through the corked writev path, which costs
      // more than copying a small body (1 KB echo: 123.5 k → 119.0 k instructions per
      // request). Each byte is one latin1 character, so the bytes on the wire are the same.
      this.res.end(chunk.toString('latin1'), 'latin1');
    } else this.res.end(chunk);
    const state = this.state;
    if (activeCount(state) === 0) {
      if (this.settings.stopping) closeAfterDrain(this);
      settleIfIdle(state);
      // Nothing left in flight: an idle keep-alive connection holds no finished request.
      state.last = undefined;
      state.previous = undefined;
    }
  }

  /**
   * End the response with `body` (null for none), its header block built here from `lines`
   * (`Name: value\r\n` each, checked when they were set, no framing header among them but the
   * `Content-Length` given as `contentLength`), then node's `Date` and keep-alive headers by
   * node's rules. Returns false, having done nothing, for what only node's `writeHead` knows
   * how to frame (no body by status, an unanswered `Expect`, headers set on `res` directly):
   * the caller then uses `writeHeaders` and `finish`.
   */
  [kFinishWithLines](
    statusCode: number,
    reason: string,
    lines: string,
    contentLength: string,
    body: string | Buffer | null,
  ): boolean {
    const res = this.res as unknown as ResponseInternals & Record<symbol, unknown>;
    if (
      !headerBlocks ||
      this.done ||
      statusCode < 200 ||
      statusCode === 204 ||
      statusCode === 304 ||
      res._header !== null ||
      res[kOutHeaders!] !== null ||
      res._removedConnection ||
      (res._expect_continue === true && res._sent100 !== true)
    ) {
      return false;
    }
    this.#prepareKeepAlive();
    let head =
      (statusCode === 200 && reason === 'OK'
        ? 'HTTP/1.1 200 OK\r\n'
        : `HTTP/1.1 ${statusCode} ${reason}\r\n`) + lines;
    if (res.sendDate) head += 'Date: ' + httpDateNow() + '\r\n';
    if (!res.shouldKeepAlive) {
      res._last = true;
      head += 'Connection: close\r\n\r\n';
    } else if (res.maxRequestsOnConnectionReached) {
      head += 'Connection: close\r\n\r\n';
    } else if (res._keepAliveTimeout && res._defaultKeepAlive) {
      head += keepAliveLines(res);
    } else {
      head += 'Connection: keep-alive\r\n\r\n';
    }
    res.statusCode = statusCode;
    res.statusMessage = reason;
    res._contentLength = +contentLength;
    res._removedContLen = false;
    res._header = head;
    res._headerSent = false;
    this.headPending = true;
    this.finish(body);
    return true;
  }

  /** The client went away before the response was finished. */
  notifyClose(): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.clearTimer();
    removeActive(this.state, this);
    settleIfIdle(this.state);
    try {
      this.delegate.onConnectionClose();
    } catch (error) {
      appLog.error('Exception in onConnectionClose', error);
    }
  }

  startGunzip(): void {
    const gunzip = zlib.createGunzip();
    this.gunzip = gunzip;
    gunzip.on('data', (chunk: Buffer) => {
      this.decompressed += chunk.length;
      if (this.decompressed > this.maxBodySize) {
        this.abort(413, `decompressed body over the limit of ${this.maxBodySize}`);
        gunzip.destroy();
        return;
      }
      this.deliver(chunk);
    });
    gunzip.on('end', () => {
      if (!this.aborted) this.finishMessage();
    });
    gunzip.on('error', (error) => {
      if (!this.aborted) this.abort(400, `bad gzip request body: ${error.message}`);
    });
  }

  /** A raw body chunk arrived. */
  received(chunk: Buffer): void {
    if (this.aborted) return;
    this.bytesReceived += chunk.length;
    if (this.bytesReceived > this.maxBodySize) {
      this.abort(413, `body over the limit of ${this.maxBodySize}`);
      return;
    }
    if (this.gunzip !== undefined) this.gunzip.write(chunk);
    else this.deliver(chunk);
  }

  /** The raw body ended. */
  ended(): void {
    this.readingBody = false;
    if (this.aborted) return;
    if (this.gunzip !== undefined) this.gunzip.end();
    else this.finishMessage();
  }

  deliver(chunk: Buffer): void {
    if (this.aborted) return;
    try {
      const pending = this.delegate.dataReceived(chunk);
      if (isThenable(pending)) {
        this.req.pause();
        pending.then(
          () => {
            if (!this.aborted) this.req.resume();
          },
          (error: unknown) => this.failDelegate(error),
        );
      }
    } catch (error) {
      this.failDelegate(error);
    }
  }

  finishMessage(): void {
    this.clearTimer();
    try {
      this.delegate.finish();
    } catch (error) {
      this.failDelegate(error);
    }
  }

  timedOut(): void {
    this.timer = undefined;
    if (this.listed) this.settings.bodyDeadlines.remove(this);
    if (this.aborted || this.done) return;
    genLog.info(`Timeout reading request body from ${remoteAddressOf(this.req.socket)}`);
    this.abort(408, null);
  }

  /**
   * The sweep's look at a body being read: no new byte for `idleMs` → 408 and close. A body
   * the server paused itself (a streaming handler's `dataReceived` still busy) is not idle.
   */
  checkBodyProgress(now: number, idleMs: number): void {
    if (!this.readingBody || this.aborted || this.done) return;
    if (this.sweepTime === 0 || this.bytesReceived !== this.sweepBytes || this.req.isPaused()) {
      this.sweepBytes = this.bytesReceived;
      this.sweepTime = now;
      return;
    }
    if (now - this.sweepTime < idleMs) return;
    genLog.info(
      `Timeout reading request body from ${remoteAddressOf(this.req.socket)}: no byte for ${idleMs} ms (bodyIdleTimeout)`,
    );
    this.abort(408, null);
  }

  /** Refuse the request (413, 408, 400 on the body): answer, stop reading, tell the delegate. */
  abort(status: number, message: string | null): void {
    this.aborted = true;
    this.readingBody = false;
    this.clearTimer();
    this.req.off('data', onRequestData);
    if (message !== null) rejectRequest(this.req, this.res, status, message);
    else respondAndClose(this.req, this.res, status);
    this.notifyClose();
  }

  /** The delegate threw: log, answer 500 if nothing was sent yet, forget the request. */
  failDelegate(error: unknown): void {
    this.aborted = true;
    this.clearTimer();
    appLog.error('Uncaught exception in HTTP message delegate', error);
    respondAndClose(this.req, this.res, 500);
    this.done = true;
    removeActive(this.state, this);
    settleIfIdle(this.state);
  }

  /**
   * Start reading the body once the delegate has the headers: finish at once when there is
   * none, refuse a declared length over the limit (before any `100 Continue`), else arm the
   * body timer and listen through the shared `data`/`end` functions.
   */
  readBody(expectContinue: boolean): void {
    const req = this.req;
    const framing = this.framing;
    const te = framing.transferEncoding;
    const cl = framing.contentLength;
    if (te === undefined && (cl === undefined || cl === '0')) {
      this.finishMessage();
      return;
    }
    if (cl !== undefined && Number(cl) > this.maxBodySize) {
      this.abort(413, `Content-Length ${cl} over the limit of ${this.maxBodySize}`);
      return;
    }
    if (expectContinue) this.res.writeContinue();
    if (this.settings.decompressRequest) {
      const encoding = framing.contentEncoding;
      if (encoding !== undefined && encoding.trim().toLowerCase() === 'gzip') this.startGunzip();
    }
    const bodyTimeout = this.bodyTimeout;
    if (bodyTimeout === this.settings.bodyTimeout) {
      if (bodyTimeout > 0) this.settings.bodyDeadlines.add(this, performance.now() + bodyTimeout);
    } else if (bodyTimeout > 0) {
      this.timer = setTimeout(onBodyTimeout, bodyTimeout, this);
    }
    req[kContext] = this;
    this.readingBody = true;
    req.on('data', onRequestData);
    req.on('end', onRequestEnd);
    req.resume();
  }

  clearTimer(): void {
    if (this.listed) this.settings.bodyDeadlines.remove(this);
    else if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/**
 * Draining, and `ctx` was the last request in flight on its socket: end the socket once the
 * answer of the request that arrived last is written (node writes them in arrival order, so
 * that one is written after every other). When that is `ctx` itself, its `Connection: close`
 * makes node end the socket.
 */
function closeAfterDrain(ctx: RequestContext): void {
  const last = ctx.state.last;
  if (last === ctx || last === undefined) return;
  const socket = ctx.req.socket;
  const end = () => {
    if (!socket.destroyed) socket.end();
  };
  if (last.res.writableFinished) end();
  else last.res.once('finish', end);
}

/** A served socket closed: tell its unfinished requests, and stop() if it was the last one. */
export function onSocketClose(this: TaggedSocket): void {
  const state = this[kConnection];
  if (state === undefined) return;
  eachActive(state, (ctx) => ctx.notifyClose());
  state.live.delete(state);
  if (state.live.size === 0) (state.live as LiveSet).onEmpty?.();
}

// Shared listeners: `this` is the IncomingMessage, which carries its context.
function onRequestData(this: TaggedRequest, chunk: Buffer): void {
  this[kContext]?.received(chunk);
}

function onRequestEnd(this: TaggedRequest): void {
  this[kContext]?.ended();
}

function onBodyTimeout(ctx: RequestContext): void {
  ctx.timedOut();
}
