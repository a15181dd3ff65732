/**
 * The framing checks of one HTTP/1.1 request, and the bare answers that refuse it.
 *
 * llhttp parses the request line and headers; what it lets through is checked here before a
 * request object is built or any handler runs: the header-line cap (`431`), a lone `chunked`
 * `Transfer-Encoding`, a single well-formed `Host` (`400`). The same pass over `rawHeaders`
 * picks out the headers that decide how the body is read (`Content-Length`,
 * `Transfer-Encoding`, `Content-Encoding`), so {@link RequestContext} never touches node's
 * lazily built `req.headers`. The bare `400`/`408`/`413`/`431` responses and the one-line
 * "Malformed HTTP message" log live here too, shared by the server (parser errors) and the
 * per-request context (body limits and timeouts).
 *
 * Separate from `httpserver.ts` because it is the server's input validation: pure checks of
 * what arrived, holding no server or connection state, readable (and auditable against the
 * refusal table in the `httpserver` module documentation) on their own.
 * Tornado: the header checks of `tornado.http1connection.HTTP1Connection`.
 * @module
 */

import type * as http from 'node:http';
import type * as net from 'node:net';
import { genLog } from '../log.ts';

/**
 * Marks a socket whose request was refused, so llhttp tripping over the rest of it is not
 * logged a second time.
 */
export const kRejected = Symbol('typhoon.httpserver.rejected');

/** A `Host` value: a bracketed IP literal or a reg-name, then an optional port. */
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/**
 * The headers that decide how a request is framed and checked, read from `rawHeaders` in one
 * pass. Node's `req.headers` is built lazily on first access (a lower-cased object of every
 * line); typhoon never touches it on the hot path. Repeated lines combine as node combines
 * them: `Content-Length` keeps the first, `Transfer-Encoding` and `Content-Encoding` join
 * with `, ` (so `chunked` sent twice is refused, as before).
 */
export interface FramingHeaders {
  host: string | undefined;
  hostCount: number;
  transferEncoding: string | undefined;
  contentLength: string | undefined;
  contentEncoding: string | undefined;
}

export const NO_FRAMING: FramingHeaders = {
  host: undefined,
  hostCount: 0,
  transferEncoding: undefined,
  contentLength: undefined,
  contentEncoding: undefined,
};

function scanHeaders(raw: readonly string[]): FramingHeaders {
  let host: string | undefined;
  let hostCount = 0;
  let te: string | undefined;
  let cl: string | undefined;
  let ce: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Compare lengths first: only a name of the right length is lower-cased.
    switch (name.length) {
      case 4:
        // Clients send `Host` or `host`: only another spelling is lower-cased.
        if (name === 'Host' || name === 'host' || name.toLowerCase() === 'host') {
          hostCount++;
          host = raw[i + 1];
        }
        break;
      case 14:
        if (
          cl === undefined &&
          (name === 'Content-Length' || name.toLowerCase() === 'content-length')
        )
          cl = raw[i + 1];
        break;
      case 16:
        if (name.toLowerCase() === 'content-encoding')
          ce = ce === undefined ? raw[i + 1] : `${ce}, ${raw[i + 1]!}`;
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding')
          te = te === undefined ? raw[i + 1] : `${te}, ${raw[i + 1]!}`;
        break;
    }
  }
  if (host === undefined && te === undefined && cl === undefined && ce === undefined)
    return NO_FRAMING;
  return {
    host,
    hostCount,
    transferEncoding: te,
    contentLength: cl,
    contentEncoding: ce,
  };
}

/** The last `Host` value that passed {@link HOST_RE}: clients repeat it on every request. */
let lastGoodHost = '';

/**
 * Check the framing of a request before anything else sees it: at most `maxHeaderCount`
 * header lines (431), one well-formed `Host` (400), no `Transfer-Encoding` but a lone
 * `chunked` (400). Answers and logs a refusal itself and returns `undefined`; otherwise
 * returns the framing headers found in the same pass.
 */
export function checkFraming(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  maxHeaderCount: number,
): FramingHeaders | undefined {
  if (req.httpVersionMajor !== 1) {
    // llhttp accepts HTTP/0.9 (no version) and any 2.x/3.x version number; typhoon speaks
    // HTTP/1.x only: 400 for 0.9, 505 for a later major version.
    const later = req.httpVersionMajor > 1;
    rejectRequest(req, res, later ? 505 : 400, `unsupported HTTP version ${req.httpVersion}`);
    return undefined;
  }
  const raw = req.rawHeaders;
  if (raw.length > maxHeaderCount * 2) {
    rejectRequest(req, res, 431, `more than ${maxHeaderCount} header lines`);
    return undefined;
  }
  const framing = scanHeaders(raw);
  const host = framing.host;
  if (framing.hostCount > 1) {
    rejectRequest(req, res, 400, 'duplicate Host header');
    return undefined;
  }
  if (host !== undefined && host !== lastGoodHost) {
    if (!HOST_RE.test(host)) {
      rejectRequest(req, res, 400, `malformed Host header ${JSON.stringify(host.slice(0, 100))}`);
      return undefined;
    }
    lastGoodHost = host;
  }
  const te = framing.transferEncoding;
  if (te !== undefined && te.toLowerCase() !== 'chunked') {
    rejectRequest(
      req,
      res,
      400,
      `unsupported Transfer-Encoding ${JSON.stringify(te.slice(0, 100))}`,
    );
    return undefined;
  }
  return framing;
}

/** The bare answers written straight to a socket whose request llhttp could not parse. */
export const BARE_RESPONSES: Record<number, string> = {
  400: 'HTTP/1.1 400 Bad Request\r\n\r\n',
  408: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
  413: 'HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\n\r\n',
  431: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
};

/** Answer `status` with an empty body and close, or just close if a response already began. */
export function respondAndClose(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
): void {
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  res.shouldKeepAlive = false;
  res.writeHead(status, { 'Content-Length': '0' });
  res.end();
}

/** Log a refused request once on `genLog` at info level, then answer `status` and close. */
export function rejectRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  message: string,
): void {
  genLog.info(`Malformed HTTP message from ${remoteAddressOf(req.socket)}: ${message}`);
  // llhttp may trip over the rest of a refused request; that is the same failure, logged once.
  (req.socket as net.Socket & { [kRejected]?: boolean })[kRejected] = true;
  respondAndClose(req, res, status);
}

/** The peer address for log lines (a socket already closed has none). */
export function remoteAddressOf(socket: net.Socket): string {
  return socket.remoteAddress ?? '0.0.0.0';
}
