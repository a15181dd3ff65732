/**
 * The bottom of the web framework: the settings of an application, its routing rules, the
 * output transforms, and the two shapes by which an application and its handlers know each
 * other, {@link ApplicationLike} and {@link HandlerLike}.
 *
 * `Application` creates handlers and handlers call back into their application, so the two
 * modules cannot import each other (not even by `import type`) without a circle. Instead both
 * import this module, which imports neither: `Application implements ApplicationLike`,
 * `RequestHandler implements HandlerLike`, and the compiler checks that each class keeps its
 * side. Cookies, XSRF, auth, templates and static files read the settings from here too.
 *
 * @example
 * ```ts
 * import type { ApplicationSettings, Rule } from 'typhoon/web';
 * const settings: ApplicationSettings = { cookieSecret: 'change me', loginUrl: '/login' };
 * const rules: Rule[] = [['/', MainHandler]];
 * await new Application(rules, settings).listen(8888);
 * ```
 * Tornado: the `settings` and handler list of `tornado.web.Application`.
 * @module
 */

import { Buffer } from 'node:buffer';
import type {
  HTTPConnection,
  HTTPHeaders,
  HTTPMessageDelegate,
  HTTPServerConnectionDelegate,
  HTTPServerRequest,
} from '../httputil/index.ts';
import type { HTTPServer, HTTPServerOptions } from '../httpserver/index.ts';
import type { SetCookieOptions } from '../internal/cookie.ts';
import type { kConnectionClose, kExecute } from '../internal/symbols.ts';
import type { TemplateLoader, WhitespaceMode } from '../template/index.ts';
import type { PathMatch, RuleSpec } from './routing.ts';

/**
 * Rewrites a response on its way out (compression is one). Created per request by the
 * application's transform factories.
 *
 * @example
 * ```ts
 * class Shout implements OutputTransform {
 *   transformFirstChunk(status: number, headers: HTTPHeaders, chunk: Buffer) {
 *     return [status, headers, Buffer.from(chunk.toString().toUpperCase())];
 *   }
 *   transformChunk(chunk: Buffer) { return Buffer.from(chunk.toString().toUpperCase()); }
 * }
 * app.addTransform(() => new Shout());
 * ```
 * Tornado: `tornado.web.OutputTransform`.
 */
export interface OutputTransform {
  /** Called with the first chunk, before the headers are written. */
  transformFirstChunk(
    statusCode: number,
    headers: HTTPHeaders,
    chunk: Buffer,
    finishing: boolean,
  ): [number, HTTPHeaders, Buffer];
  /** Called with every later chunk. */
  transformChunk(chunk: Buffer, finishing: boolean): Buffer;
}

/**
 * Makes an {@link OutputTransform} for one request: the `transforms` setting and
 * `Application.addTransform` take these.
 *
 * @example
 * ```ts
 * const factory: OutputTransformFactory = (request) => new GZipContentEncoding(request);
 * ```
 * Tornado: an `OutputTransform` class, called with the request.
 */
export type OutputTransformFactory = (request: HTTPServerRequest) => OutputTransform;

/**
 * Options of `setCookie`: `domain`, `path` (default `/`), `expires` (a Date), `expiresDays`,
 * `maxAge` (milliseconds, sent as whole seconds), `secure`, `httpOnly`, `sameSite`.
 * An attribute carrying `;`, a space or a control character is refused.
 *
 * @example
 * ```ts
 * this.setCookie('theme', 'dark', { maxAge: 86_400_000, sameSite: 'Lax' });
 * ```
 * Tornado: the keyword arguments of `RequestHandler.set_cookie`.
 */
export type CookieOptions = SetCookieOptions;

/**
 * A handler as its application and the `logFunction` setting see it. `RequestHandler`
 * implements it, and every handler class an application routes to extends `RequestHandler`;
 * a `logFunction` that needs more of its own handler class may declare its parameter as that
 * class.
 *
 * @example
 * ```ts
 * const logFunction = (handler: HandlerLike) =>
 *   console.log(handler.getStatus(), handler.request.uri);
 * ```
 * Tornado: the parts of `tornado.web.RequestHandler` that `Application` calls.
 */
export interface HandlerLike {
  /** The request being served. */
  readonly request: HTTPServerRequest;
  /** Whether the response is finished. */
  readonly finished: boolean;
  /** The response status so far. */
  getStatus(): number;
  /** `METHOD uri (remote ip)`, for log lines. */
  requestSummary(): string;
  /** Receives the rule's `initArgs` before anything else runs. */
  initialize(initArgs: object): void | PromiseLike<void>;
  /** Runs before the HTTP method (a streaming handler reads its body after it). */
  prepare(): unknown;
  /** A chunk of a streamed request body (`streamRequestBody` handlers). */
  dataReceived(chunk: Buffer): unknown;
  /** Answer with an error page for `status`. */
  sendError(status?: number, options?: { error?: unknown }): void;
  /** Run the handler for a matched request, with the application's output transforms. */
  [kExecute](
    args: Array<string | undefined>,
    kwargs: Record<string, string | undefined> | undefined,
    transforms: OutputTransform[] | null,
  ): void;
  /** The client went away before the response was finished. */
  [kConnectionClose](): void;
}

/**
 * A handler class an application can route to: a `RequestHandler` subclass (its constructor
 * takes the application and the request; configure it in `initialize`, not the constructor).
 *
 * @example
 * ```ts
 * const fallback: HandlerClass = NotFoundHandler;
 * new Application(rules, { defaultHandlerClass: fallback });
 * ```
 * Tornado: a `tornado.web.RequestHandler` subclass.
 */
export type HandlerClass = new (
  application: ApplicationLike,
  request: HTTPServerRequest,
) => HandlerLike;

/**
 * A routing rule of an application: `[pattern, HandlerClass, initArgs?, name?]` or a `URLSpec`.
 *
 * @example
 * ```ts
 * const rules: Rule[] = [['/', MainHandler], url('/user/(\\d+)', UserHandler, {}, 'user')];
 * ```
 * Tornado: an entry of `Application`'s handler list.
 */
export type Rule = RuleSpec<HandlerClass>;

/**
 * What routing found for a request (`Application.findHandler`).
 *
 * @example
 * ```ts
 * const { handlerClass, initArgs, match } = app.findHandler(request);
 * ```
 * Tornado: `tornado.web._HandlerDelegate`'s handler class, kwargs and path arguments.
 */
export interface RouteMatch {
  /** The handler class to run. */
  handlerClass: HandlerClass;
  /** Its `initArgs`. */
  initArgs: object;
  /** The path groups. */
  match: PathMatch;
}

/**
 * Settings of an application. Unknown keys are kept for your own handlers.
 *
 * @example
 * ```ts
 * const settings: ApplicationSettings = { debug: true, templatePath: 'templates', db };
 * new Application(rules, settings);
 * ```
 * Tornado: `Application.settings`.
 */
export interface ApplicationSettings {
  /** Development mode; turns on `serveTraceback`. */
  debug?: boolean;
  /**
   * Restart the process when a loaded source module or a template changes (see
   * `typhoon/autoreload`). Default: `debug`. For development only.
   */
  autoreload?: boolean;
  /** Put the stack of an uncaught error in the 500 page. Default: `debug`. */
  serveTraceback?: boolean;
  /**
   * Replace the access log line: called once per finished request. (A method, so a function
   * whose parameter is your own handler class fits too.)
   */
  logFunction?(handler: HandlerLike): void;
  /** Handler for requests no rule matches (default: a 404). */
  defaultHandlerClass?: HandlerClass;
  /** `initArgs` for `defaultHandlerClass`. */
  defaultHandlerArgs?: object;
  /** Output transforms applied to every response (compression plugs in here). */
  transforms?: OutputTransformFactory[];
  /** gzip text-like responses (see the compression transform). */
  compressResponse?: boolean;
  /** Secret for signed cookies. */
  cookieSecret?: string | Record<number, string>;
  /** Check XSRF tokens on unsafe methods. */
  xsrfCookies?: boolean;
  /** Where `authenticated` sends anonymous users. */
  loginUrl?: string;
  /** Directory served by the static file handler. */
  staticPath?: string;
  /** URL prefix of static files. Default `/static/`. */
  staticUrlPrefix?: string;
  /** Handler class of the static routes (default `StaticFileHandler`). */
  staticHandlerClass?: HandlerClass;
  /** Extra `initArgs` of the static routes (e.g. `{ defaultFilename: 'index.html' }`). */
  staticHandlerArgs?: Record<string, unknown>;
  /** With a map of `cookieSecret`s: the key version new signatures use. */
  keyVersion?: number;
  /** Name of the XSRF cookie. Default `_xsrf`. */
  xsrfCookieName?: string;
  /** Format of new XSRF tokens: 2 (masked, default) or 1. */
  xsrfCookieVersion?: 1 | 2;
  /** Attributes of the XSRF cookie (`secure`, `sameSite`, `expiresDays`, …). */
  xsrfCookieKwargs?: CookieOptions;
  /** `EventSourceHandler`: ms between heartbeat comments on an idle stream (0: none). Default 15 000. */
  sseHeartbeatInterval?: number;
  /** `EventSourceHandler`: unsent bytes a client may fall behind before it is closed. Default 1 MiB. */
  sseMaxWriteBuffer?: number;
  /** `WebSocketHandler`: unsent bytes a client may fall behind before it is closed with 1008. Default 16 MiB. */
  websocketMaxWriteBuffer?: number;
  /** Folder of the templates `render()` reads. */
  templatePath?: string;
  /** A loader used instead of a `Loader` on `templatePath` (e.g. a `DictLoader`). */
  templateLoader?: TemplateLoader;
  /** Escaping function name for `{{ }}` in templates (default `xhtmlEscape`); `null`: off. */
  autoescape?: string | null;
  /** Whitespace mode of every template (default by file name: `single` for `.html`/`.js`). */
  templateWhitespace?: WhitespaceMode;
  /** Keep compiled templates across requests. Default true; false when `debug`. */
  compiledTemplateCache?: boolean;
  /** `UIModule` classes by name (an object, a module namespace, or an array of them). */
  uiModules?: object | readonly object[];
  /** Template functions called with the handler first (an object, module or array of them). */
  uiMethods?: object | readonly object[];
  /** Locale code when `Accept-Language` names nothing loaded (default: the default locale). */
  defaultLocale?: string;
  /** Anything else your handlers read. */
  [key: string]: unknown;
}

/**
 * An application as its handlers see it (`this.application`): the whole public face of
 * `Application`, which implements it. Handlers, templates, cookies, auth and static files are
 * written against this shape, so they never import the application module.
 *
 * @example
 * ```ts
 * class Profile extends RequestHandler {
 *   get() {
 *     const db = this.application.settings.db;
 *     this.redirect(this.application.reverseUrl('user', 42));
 *   }
 * }
 * ```
 * Tornado: `tornado.web.Application`, as `RequestHandler.application`.
 */
export interface ApplicationLike extends HTTPServerConnectionDelegate {
  /** The settings given to the constructor (plus defaults). */
  readonly settings: ApplicationSettings;
  /** Factories of output transforms run on every response. */
  readonly transforms: OutputTransformFactory[];
  /** Add rules for requests whose host name matches `hostPattern`. */
  addHandlers(hostPattern: string | RegExp, handlers: readonly Rule[]): void;
  /** Add an output transform factory for every later response. */
  addTransform(factory: OutputTransformFactory): void;
  /** The path of the rule called `name`, with its groups filled from `args`. */
  reverseUrl(name: string, ...args: unknown[]): string;
  /** Find the handler for a request (the default handler or a 404 when nothing matches). */
  findHandler(request: HTTPServerRequest): RouteMatch;
  /** Serve this application on `port` (0 picks a free one). */
  listen(port?: number, host?: string, serverOptions?: HTTPServerOptions): Promise<HTTPServer>;
  /** The server's entry point: a delegate for one request. */
  startRequest(connection: HTTPConnection): HTTPMessageDelegate;
  /** Write the access log line for a finished request (or call `settings.logFunction`). */
  logRequest(handler: HandlerLike): void;
}
