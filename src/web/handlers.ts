/**
 * Ready-made handlers: {@link RedirectHandler}, {@link ErrorHandler} and
 * {@link FallbackHandler}.
 *
 * @example
 * ```ts
 * new Application([
 *   ['/old/(.*)', RedirectHandler, { url: '/new/{0}' }],
 *   ['/gone', ErrorHandler, { statusCode: 410 }],
 *   ['/legacy/.*', FallbackHandler, { fallback: expressApp }],
 * ]);
 * ```
 * Tornado: `tornado.web.RedirectHandler`, `ErrorHandler`, `FallbackHandler`.
 * @module
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPError } from '../errors.ts';
import { urlConcat } from '../httputil/index.ts';
import { RequestHandler } from './request-handler.ts';
import { kDetach } from '../internal/symbols.ts';

/** `initArgs` of {@link RedirectHandler}. */
export interface RedirectHandlerArgs {
  /** Target; `{0}`, `{1}`… take the path's positional groups, `{name}` its named groups. */
  url: string;
  /** 301 (true, the default) or 302. */
  permanent?: boolean;
}

/**
 * Redirect every GET (and HEAD) to `url`, filling `{0}`/`{name}` placeholders from the path's
 * groups and keeping the query string. Permanent (301) by default. A target that a browser
 * would read as starting with `//` only because of what the client put in the path (`//`,
 * `/\`, or a tab, CR or LF between slashes, which URL parsers drop) is collapsed to one `/`,
 * and {@link RequestHandler.redirect} percent-encodes what is left, so a request for
 * `/old/%09/evil.example` can never become an off-site `Location`.
 *
 * @example
 * ```ts
 * ['/pictures/(.*)', RedirectHandler, { url: '/photos/{0}' }]
 * ```
 * Tornado: `tornado.web.RedirectHandler`.
 */
export class RedirectHandler extends RequestHandler {
  #url = '';
  #permanent = true;

  override initialize(initArgs: object): void {
    const args = initArgs as RedirectHandlerArgs;
    if (typeof args.url !== 'string') throw new TypeError('RedirectHandler needs initArgs.url');
    this.#url = args.url;
    this.#permanent = args.permanent ?? true;
  }

  override get(...args: Array<string | undefined>): void {
    this.#go(args);
  }

  override head(...args: Array<string | undefined>): void {
    this.#go(args);
  }

  #go(args: unknown[]): void {
    const named =
      args.length === 1 && args[0] !== null && typeof args[0] === 'object'
        ? (args[0] as Record<string, string | undefined>)
        : undefined;
    let target = this.#url.replace(/\{(\w*)\}/g, (whole, key: string) => {
      const value =
        named !== undefined ? named[key] : /^\d+$/.test(key) ? args[Number(key)] : undefined;
      if (value === undefined) return whole;
      return String(value as string);
    });
    // A path group that makes the target begin, as a browser reads it, with `//` (slashes,
    // backslashes, tabs, CR, LF: `/old/%09/evil.com`) is collapsed to one `/`; redirect()
    // would refuse it, and the visitor is better served by the path.
    if (!this.#url.startsWith('//') && /^\/[/\\\t\r\n]*[/\\]/.test(target))
      target = '/' + target.replace(/^[/\\\t\r\n]+/, '');
    if (this.request.query.length > 0) {
      target = urlConcat(
        target,
        Object.entries(this.request.queryArguments).flatMap(([k, vs]) =>
          vs.map((v) => [k, v.toString('utf8')] as const),
        ),
      );
    }
    this.redirect(target, { permanent: this.#permanent });
  }
}

/** `initArgs` of {@link ErrorHandler}. */
export interface ErrorHandlerArgs {
  /** The status to answer with. */
  statusCode: number;
}

/**
 * Answer every request with `statusCode` (the application uses it for 404s).
 *
 * @example
 * ```ts
 * ['/private/.*', ErrorHandler, { statusCode: 403 }]
 * ```
 * Tornado: `tornado.web.ErrorHandler`.
 */
export class ErrorHandler extends RequestHandler {
  #statusCode = 404;

  override initialize(initArgs: object): void {
    this.#statusCode = (initArgs as Partial<ErrorHandlerArgs>).statusCode ?? 404;
  }

  override prepare(): unknown {
    throw new HTTPError(this.#statusCode);
  }
}

/** A plain Node request listener, as `http.createServer` takes. */
export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** `initArgs` of {@link FallbackHandler}. */
export interface FallbackHandlerArgs {
  /** The Node handler that answers these requests. */
  fallback: NodeRequestListener;
}

/**
 * Hand matching requests to a plain Node `(req, res)` listener (an Express or Connect app, a
 * legacy handler), unread and unanswered: the listener reads the body and writes the
 * response itself; typhoon neither logs nor touches them.
 *
 * @example
 * ```ts
 * ['/legacy/.*', FallbackHandler, { fallback: (req, res) => res.end('old world') }]
 * ```
 * Tornado: `tornado.web.FallbackHandler` (which mounts a WSGI app).
 */
export class FallbackHandler extends RequestHandler {
  /** The dispatcher runs this handler as soon as the head arrives, before any body is read. */
  static takesOverConnection = true;
  // Whatever the legacy listener may answer, TRACE and CONNECT included.
  static override SUPPORTED_METHODS: readonly string[] = [
    ...RequestHandler.SUPPORTED_METHODS,
    'TRACE',
    'CONNECT',
  ];
  #fallback: NodeRequestListener | undefined;

  override initialize(initArgs: object): void {
    const fallback = (initArgs as Partial<FallbackHandlerArgs>).fallback;
    if (typeof fallback !== 'function')
      throw new TypeError('FallbackHandler needs initArgs.fallback');
    this.#fallback = fallback;
  }

  override prepare(): unknown {
    const connection = this.request.connection;
    if (connection === undefined)
      throw new HTTPError(500, 'FallbackHandler needs a server connection');
    // Refuse an upgrade before detaching, so the 500 still goes out and the socket is closed.
    if (connection.raw.res === undefined)
      throw new HTTPError(500, 'FallbackHandler cannot serve an upgrade');
    const raw = connection.detach();
    this[kDetach]();
    this.#fallback!(raw.req, raw.res!);
    return undefined;
  }
}
