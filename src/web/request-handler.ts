/**
 * `RequestHandler`: subclass it and define `get()`, `post()`, … to serve requests.
 *
 * One handler object serves one request. The application creates it, calls
 * `initialize(initArgs)`, then `prepare()`, then the method named after the HTTP verb with
 * the path's groups as arguments, then `finish()` unless the method did. The rules of
 * Tornado's guide hold exactly:
 *
 * - a method that returns a Promise or Future (an `async` method, a generator coroutine) is
 *   finished when that resolves;
 * - a method that starts asynchronous work without returning it finishes the request at
 *   once (the work then runs after the response was sent);
 * - with `this.autoFinish = false` (Tornado's old `@asynchronous`) the request stays open
 *   until the handler calls `finish()`.
 *
 * `throw new HTTPError(status)` or `throw new Finish(chunk)` end a request from anywhere
 * inside it; any other exception is logged once and answered with a 500.
 *
 * @example
 * ```ts
 * class MainHandler extends RequestHandler {
 *   async get(name: string) {
 *     const user = await db.load(name);
 *     this.write({ name: user.name });
 *   }
 * }
 * ```
 * Tornado: `tornado.web.RequestHandler`.
 * @module
 */

import { Buffer } from 'node:buffer';
import { appLog, genLog } from '../log.ts';
import { isThenable, type Future } from '../concurrent.ts';
import { coroutine } from '../gen.ts';
import { HTTPError, HTTPOutputError, StreamClosedError } from '../errors.ts';
import { isGeneratorObject } from '../internal/guards.ts';
import type { HTTPFile, HTTPServerRequest } from '../httputil/index.ts';
import {
  kConnectionClose,
  kExecute,
  kFinish,
  kFinished,
  kMethodStart,
  kSetTransforms,
} from '../internal/symbols.ts';
import type {
  ApplicationLike,
  ApplicationSettings,
  HandlerLike,
  OutputTransform,
  OutputTransformFactory,
} from './settings.ts';
import type { Locale } from '../locale/index.ts';
import type { TemplateLoader, TemplateNamespace } from '../template/index.ts';
import * as templates from './templates.ts';
import * as cookies from './cookies.ts';
import * as auth from './auth.ts';
import { prepareWithBody } from './stream-body.ts';
import { asRequestError, errorPageHtml, logRequestException, tracebackText } from './error-page.ts';
import type { HeaderValue } from './response-headers.ts';
import { HandlerOutput, safeLocation, type WriteChunk } from './output.ts';
import {
  allArguments,
  argumentMap,
  decodePathArgument,
  decodeUtf8Argument,
  lastArgument,
  parseJsonBody,
  requestFiles,
} from './arguments.ts';

/** Options of {@link RequestHandler.redirect}. */
export interface RedirectOptions {
  /** 301 instead of 302. Default false. */
  permanent?: boolean;
  /** An explicit 3xx status (overrides `permanent`). */
  status?: number;
}

/** Options of {@link RequestHandler.sendError} and {@link RequestHandler.writeError}. */
export interface ErrorOptions {
  /** The error that caused the response, if any. */
  error?: unknown;
}

// Lower-case method names without a `toLowerCase()` string per request.
const METHOD_NAMES: Record<string, string | undefined> = Object.assign(
  Object.create(null) as Record<string, string | undefined>,
  {
    GET: 'get',
    HEAD: 'head',
    POST: 'post',
    PUT: 'put',
    PATCH: 'patch',
    DELETE: 'delete',
    OPTIONS: 'options',
  },
);

export type { HeaderValue, OutputTransform, OutputTransformFactory, WriteChunk };

/**
 * Throw to end a request without an error page: the response is finished (with `chunk`
 * written first, if given) and nothing is logged beyond the access line.
 *
 * @example
 * ```ts
 * if (!this.request.headers.get('Authorization')) {
 *   this.setStatus(401);
 *   this.setHeader('WWW-Authenticate', 'Basic realm="x"');
 *   throw new Finish();
 * }
 * ```
 * Tornado: `tornado.web.Finish`.
 */
export class Finish extends Error {
  /** Written before finishing, when given. */
  readonly chunk: WriteChunk | undefined;
  constructor(chunk?: WriteChunk) {
    super('Finish');
    this.name = 'Finish';
    this.chunk = chunk;
  }
}
type AnyMethod = (this: RequestHandler, ...args: unknown[]) => unknown;

/**
 * Base class for HTTP request handlers. See the module documentation for the lifecycle.
 *
 * Tornado: `tornado.web.RequestHandler`.
 */
export class RequestHandler extends HandlerOutput implements HandlerLike {
  /** The methods this handler class accepts; others get 405 before anything runs. */
  static SUPPORTED_METHODS: readonly string[] = [
    'GET',
    'HEAD',
    'POST',
    'DELETE',
    'PATCH',
    'PUT',
    'OPTIONS',
  ];

  /**
   * When true, the body is handed to `dataReceived(chunk)` as it arrives instead of being
   * buffered. Tornado: `@stream_request_body`.
   */
  static streamRequestBody = false;

  /** The application serving this request. */
  readonly application: ApplicationLike;
  /** Positional groups of the matched path, percent-decoded once. */
  pathArgs: Array<string | undefined> = [];
  // A prototype-free object is a dictionary-mode allocation: made only when someone looks.
  #pathKwargs: Record<string, string | undefined> | undefined;

  /** Named groups of the matched path, percent-decoded once. */
  get pathKwargs(): Record<string, string | undefined> {
    return (this.#pathKwargs ??= Object.create(null) as Record<string, string | undefined>);
  }

  set pathKwargs(kwargs: Record<string, string | undefined>) {
    this.#pathKwargs = kwargs;
  }
  /**
   * Finish the request when the method returns (or its Promise resolves). Set to false to keep
   * it open until `finish()` is called. Tornado: `@asynchronous` / `_auto_finish`.
   */
  autoFinish = true;

  #jsonBody: unknown;
  #hasJsonBody = false;
  // Made on first read of `signal`: most handlers never look, and a controller per request shows.
  #abortController: AbortController | undefined;

  constructor(application: ApplicationLike, request: HTTPServerRequest) {
    super(request);
    this.application = application;
    // After `application` is set: setDefaultHeaders() overrides may read the settings.
    this.clear();
  }

  /** The application's settings. */
  get settings(): ApplicationSettings {
    return this.application.settings;
  }

  /**
   * Aborted when the request finishes or the client goes away (the moment `onConnectionClose()`
   * runs), whichever comes first: pass it to whatever the handler waits on (a broker stream, a
   * fetch, a timer) so the wait ends with the request. Read after that moment, it is already
   * aborted. Each request has its own.
   *
   * @example
   * ```ts
   * async get() {
   *   const rows = await db.query(sql, { signal: this.signal });
   *   this.write({ rows });
   * }
   * ```
   * Tornado: none (Tornado handlers override `on_connection_close`).
   */
  get signal(): AbortSignal {
    let controller = this.#abortController;
    if (controller === undefined) {
      controller = this.#abortController = new AbortController();
      if (this.finished || this.request.connection?.closed === true) controller.abort();
    }
    return controller.signal;
  }

  /** Log the finished request and run `onFinish()`. */
  override [kFinished](): void {
    this.#abortController?.abort();
    this.application.logRequest(this);
    try {
      this.onFinish();
    } catch (error) {
      appLog.error(`Exception in onFinish of ${this.requestSummary()}`, error);
    }
  }

  /** The client went away: run `onConnectionClose()` once, unless already finished. */
  [kConnectionClose](): void {
    if (this.finished) return;
    try {
      this.onConnectionClose();
    } catch (error) {
      appLog.error(`Exception in onConnectionClose of ${this.requestSummary()}`, error);
    }
    this.#abortController?.abort();
  }

  /** The verb's method is about to run; `EventSourceHandler` sends its headers here. */
  [kMethodStart](): void {}

  // --- hooks ---------------------------------------------------------------------------------

  /**
   * Receives the rule's `initArgs`. Override to keep what the handler needs.
   * Tornado: `RequestHandler.initialize`.
   */
  initialize(_initArgs: object): void | PromiseLike<void> {}

  /**
   * Runs before the method; may be async (the method waits). Finishing here skips the method.
   * Tornado: `RequestHandler.prepare`.
   */
  prepare(): unknown {
    return undefined;
  }

  /** Runs after the response is finished; for cleanup and logging. Tornado: `on_finish`. */
  onFinish(): void {}

  /**
   * Runs once if the client goes away before the response is finished (a long poll whose
   * browser closed). Tornado: `on_connection_close`.
   */
  onConnectionClose(): void {}

  /**
   * For `streamRequestBody` handlers: one chunk of the body. May return a Promise to slow
   * the client down. Tornado: `data_received`.
   */
  dataReceived(_chunk: Buffer): unknown {
    throw new HTTPError(500, 'dataReceived() not implemented');
  }

  // Every verb answers 405 until a subclass defines it. Tornado: `_unimplemented_method`.
  /** Answer GET. */
  get(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer HEAD; without it a HEAD request gets 405, as in Tornado. */
  head(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer POST. */
  post(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer PUT. */
  put(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer PATCH. */
  patch(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer DELETE. */
  delete(..._args: never[]): unknown {
    throw new HTTPError(405);
  }
  /** Answer OPTIONS. */
  options(..._args: never[]): unknown {
    throw new HTTPError(405);
  }

  /**
   * Send a redirect (302, or 301 with `permanent`, or `status`) to `url` and finish.
   * Controls, spaces and backslashes in `url` are percent-encoded; a relative `url` that a
   * browser would read as beginning with `//` (another host: `//evil.com`, `/\t/evil.com`,
   * `/\evil.com`) throws {@link HTTPOutputError} (a logged 500). An absolute URL with a
   * scheme (`https://other.example/`) is allowed. Tornado: `redirect` (which checks nothing).
   */
  redirect(url: string, options: RedirectOptions = {}): void {
    if (this.headersWritten)
      throw new HTTPOutputError('Cannot redirect after headers have been written');
    const status = options.status ?? (options.permanent ? 301 : 302);
    if (!(status >= 300 && status <= 399))
      throw new RangeError(`redirect status must be 3xx, got ${status}`);
    const location = safeLocation(String(url));
    if (location === null)
      throw new HTTPOutputError(
        `Refusing a redirect to ${JSON.stringify(String(url).slice(0, 200))}: a browser reads it as another host (write the scheme for an off-site redirect)`,
      );
    this.setStatus(status);
    this.setHeader('Location', location);
    this[kFinish](undefined);
  }

  /**
   * Answer with an error page for `status` (via {@link RequestHandler.writeError}),
   * discarding output buffered so far. Tornado: `send_error`.
   */
  sendError(status = 500, options: ErrorOptions = {}): void {
    if (this.headersWritten) {
      // Too late for an error page; end what was started so the connection is not left open.
      if (!this.finished) {
        try {
          this[kFinish](undefined);
        } catch (error) {
          appLog.error('Failed to flush partial response', error);
        }
      }
      return;
    }
    this.clear();
    const error = options.error;
    const reason = error instanceof HTTPError ? error.reason : undefined;
    this.setStatus(status, reason);
    // RFC 9110 requires it on a 405 (Tornado omits it): the methods this handler answers.
    if (status === 405) this.setHeader('Allow', allowedMethods(this));
    try {
      this.writeError(status, options);
    } catch (writeFailure) {
      appLog.error('Uncaught exception in writeError', writeFailure);
    }
    if (!this.finished) this[kFinish](undefined);
  }

  /**
   * Write the error page. The default is Tornado's
   * `<html><title>404: Not Found</title><body>404: Not Found</body></html>`; with the
   * `serveTraceback` setting and an error, the stack as text/plain instead. Override for your
   * own pages. Tornado: `write_error`.
   */
  writeError(status: number, options: ErrorOptions = {}): void {
    const error = options.error;
    if (this.settings.serveTraceback && error instanceof Error) {
      this.setHeader('Content-Type', 'text/plain; charset=UTF-8');
      this[kFinish](tracebackText(error));
      return;
    }
    this[kFinish](errorPageHtml(status, this.getReason()));
  }

  // --- arguments -----------------------------------------------------------------------------
  // Thin delegates: reading, decoding and checking the input lives in arguments.ts.

  /**
   * Decode an argument's bytes. UTF-8, with a 400 on invalid bytes; override for other
   * encodings. Tornado: `decode_argument`.
   */
  decodeArgument(value: Buffer, name?: string): string {
    return decodeUtf8Argument(value, name);
  }

  /**
   * The last value of query or body argument `name`, decoded, control characters replaced and
   * (with `strip`) trimmed. Missing without a default → {@link typhoon/errors!MissingArgumentError | MissingArgumentError} (400).
   * Tornado: `get_argument`.
   */
  getArgument(name: string): string;
  getArgument<D extends string | null | undefined>(
    name: string,
    defaultValue: D,
    strip?: boolean,
  ): string | D;
  getArgument(
    name: string,
    ...rest: [(string | null | undefined)?, boolean?]
  ): string | null | undefined {
    const map = argumentMap(this.request, 'arguments');
    return lastArgument(this, map, name, rest.length > 0, rest[0], rest[1] ?? true);
  }

  /** Every value of argument `name` (empty when absent). Tornado: `get_arguments`. */
  getArguments(name: string, strip = true): string[] {
    return allArguments(this, argumentMap(this.request, 'arguments'), name, strip);
  }

  /** {@link RequestHandler.getArgument} for the query string only. Tornado: `get_query_argument`. */
  getQueryArgument(name: string): string;
  getQueryArgument<D extends string | null | undefined>(
    name: string,
    defaultValue: D,
    strip?: boolean,
  ): string | D;
  getQueryArgument(
    name: string,
    ...rest: [(string | null | undefined)?, boolean?]
  ): string | null | undefined {
    const map = argumentMap(this.request, 'queryArguments');
    return lastArgument(this, map, name, rest.length > 0, rest[0], rest[1] ?? true);
  }

  /** Every query value of `name`. Tornado: `get_query_arguments`. */
  getQueryArguments(name: string, strip = true): string[] {
    return allArguments(this, argumentMap(this.request, 'queryArguments'), name, strip);
  }

  /** {@link RequestHandler.getArgument} for the body only. Tornado: `get_body_argument`. */
  getBodyArgument(name: string): string;
  getBodyArgument<D extends string | null | undefined>(
    name: string,
    defaultValue: D,
    strip?: boolean,
  ): string | D;
  getBodyArgument(
    name: string,
    ...rest: [(string | null | undefined)?, boolean?]
  ): string | null | undefined {
    const map = argumentMap(this.request, 'bodyArguments');
    return lastArgument(this, map, name, rest.length > 0, rest[0], rest[1] ?? true);
  }

  /** Every body value of `name`. Tornado: `get_body_arguments`. */
  getBodyArguments(name: string, strip = true): string[] {
    return allArguments(this, argumentMap(this.request, 'bodyArguments'), name, strip);
  }

  /** Uploaded files of a multipart body, name → files. */
  get files(): Record<string, HTTPFile[]> {
    return requestFiles(this.request);
  }

  /**
   * The request body parsed as JSON. 415 unless the `Content-Type` is `application/json` (or
   * `…+json`); 400 on malformed JSON, invalid UTF-8, or a `__proto__`, `constructor` or
   * `prototype` key anywhere (so the result can be merged into objects safely).
   */
  getJsonBody<T = unknown>(): T {
    if (!this.#hasJsonBody) {
      this.#jsonBody = parseJsonBody(this.request);
      this.#hasJsonBody = true;
    }
    return this.#jsonBody as T;
  }

  /**
   * Cookie `name` from the request, or `defaultValue`. Setting and signing cookies live in
   * their own module. Tornado: `get_cookie`.
   */
  getCookie(name: string, defaultValue?: string): string | undefined {
    const value = this.request.cookies[name];
    return value === undefined ? defaultValue : value;
  }

  // --- cookies, signed cookies, XSRF, authentication -------------------------------------------
  // Thin wrappers: the logic lives in cookies.ts and auth.ts.

  /**
   * The largest request body this handler accepts, in bytes, replacing the server's
   * `maxBodySize` for its requests (413 past it); e.g. raise it on an upload handler with
   * `streamRequestBody`. Default: the server's limit. Tornado: `set_max_body_size` in `prepare`.
   */
  static maxBodySize: number | undefined = undefined;

  /**
   * Set cookie `name` for this response (replacing one set earlier for the same name).
   * Options: `domain`, `path` (default `/`), `expires` (Date), `expiresDays`, `maxAge` (ms),
   * `secure`, `httpOnly`, `sameSite`. A name, value or attribute that could inject another
   * attribute or header throws {@link HTTPOutputError}. Tornado: `set_cookie`.
   */
  setCookie(name: string, value: string, options?: cookies.CookieOptions): void {
    cookies.setCookie(this, name, value, options);
  }

  /**
   * Tell the browser to delete cookie `name` (give the `path`/`domain` it was set with).
   * Tornado: `clear_cookie`.
   */
  clearCookie(name: string, options?: Parameters<typeof cookies.clearCookie>[2]): void {
    cookies.clearCookie(this, name, options);
  }

  /** Delete every cookie the request carried. Tornado: `clear_all_cookies`. */
  clearAllCookies(options?: Parameters<typeof cookies.clearAllCookies>[1]): void {
    cookies.clearAllCookies(this, options);
  }

  /**
   * Sign `value` for cookie `name` with the `cookieSecret` setting (Tornado's format v2).
   * Tornado: `create_signed_value`.
   */
  createSignedValue(name: string, value: string | Buffer, version?: 1 | 2): string {
    return cookies.createSignedCookieValue(this, name, value, version);
  }

  /**
   * Set a signed, timestamped cookie (30 days unless told otherwise) that only
   * {@link RequestHandler.getSignedCookie} reads back, unchanged. Tornado: `set_signed_cookie`.
   */
  setSignedCookie(
    name: string,
    value: string | Buffer,
    options?: cookies.SignedCookieOptions,
  ): void {
    cookies.setSignedCookie(this, name, value, options);
  }

  /**
   * The verified value of signed cookie `name` (or of `value`), or `null` when missing,
   * forged, expired (`maxAgeDays`, default 31) or otherwise invalid. Tornado: `get_signed_cookie`.
   */
  getSignedCookie(
    name: string,
    value?: string | null,
    options?: cookies.GetSignedCookieOptions,
  ): string | null {
    return cookies.getSignedCookie(this, name, value, options);
  }

  /**
   * This response's masked XSRF token (sets the `_xsrf` cookie when the request had none).
   * Tornado: `xsrf_token`.
   */
  get xsrfToken(): string {
    return cookies.xsrfToken(this, auth.knownSignedIn(this));
  }

  /**
   * Throw `HTTPError(403)` unless the request's `_xsrf` argument or `X-XSRFToken` /
   * `X-CSRFToken` header matches the `_xsrf` cookie. Runs before `prepare()` for every
   * non-GET/HEAD/OPTIONS request when the `xsrfCookies` setting is on; override to exempt a
   * handler (e.g. an API authenticated otherwise). Tornado: `check_xsrf_cookie`.
   */
  checkXsrfCookie(): void {
    cookies.checkXsrfCookie(this);
  }

  /** The hidden `<input>` carrying {@link RequestHandler.xsrfToken}. Tornado: `xsrf_form_html`. */
  xsrfFormHtml(): string {
    return cookies.xsrfFormHtml(this, auth.knownSignedIn(this));
  }

  /**
   * Who is signed in; override it (it may be `async`), e.g. to read a signed cookie. The
   * default says nobody (`null`). Read the answer through `currentUser`.
   * Tornado: `get_current_user`.
   */
  getCurrentUser(): unknown {
    return null;
  }

  /**
   * The signed-in user: `getCurrentUser()`'s answer, asked once per request. When that is
   * async, `await this.resolveCurrentUser()` first (`authenticated` does), or assign
   * `this.currentUser` in `prepare()`. Tornado: `current_user`.
   */
  get currentUser(): unknown {
    return auth.currentUserOf(this);
  }

  set currentUser(user: unknown) {
    auth.setCurrentUser(this, user);
  }

  /** The current user, awaiting an async `getCurrentUser()` once per request. */
  resolveCurrentUser(): Promise<unknown> {
    return auth.resolveCurrentUser(this);
  }

  /** Where `authenticated` sends anonymous visitors: the `loginUrl` setting. Tornado: `get_login_url`. */
  getLoginUrl(): string {
    return auth.loginUrlSetting(this);
  }

  /**
   * The URL of static file `path` (relative to the `staticPath` setting), with `?v=<hash of its
   * content>` so it can be cached for a year and still change when the file does.
   * Tornado: `static_url`.
   */
  staticUrl(path: string, includeVersion = true): string {
    const maker = this.settings.staticHandlerClass as
      { makeStaticUrl?: (s: ApplicationSettings, p: string, v: boolean) => string } | undefined;
    if (maker === undefined || typeof maker.makeStaticUrl !== 'function') {
      throw new Error("You must define the 'staticPath' setting to use staticUrl()");
    }
    return maker.makeStaticUrl(this.settings, path, includeVersion);
  }

  /** The URL for the named rule, from the application. Tornado: `reverse_url`. */
  reverseUrl(name: string, ...args: unknown[]): string {
    return this.application.reverseUrl(name, ...args);
  }

  // --- templates and locale: thin delegates to templates.ts (lazy: free until used) ----------
  /** Render template `name`, add UI modules' JS/CSS, finish with it. Tornado: `render`. */
  render(name: string, namespace?: TemplateNamespace): Future<void> {
    return templates.render(this, name, namespace);
  }
  /** Template `name` with the handler's names and `namespace`. Tornado: `render_string`. */
  renderString(name: string, namespace?: TemplateNamespace): string {
    return templates.renderString(this, name, namespace);
  }
  /** Where templates are read from: the `templatePath` setting. Tornado: `get_template_path`. */
  getTemplatePath(): string | null {
    return this.settings.templatePath ?? null;
  }
  /** The loader for a template folder (made once per app). Tornado: `create_template_loader`. */
  createTemplateLoader(templatePath: string): TemplateLoader {
    return templates.createTemplateLoader(this.settings, templatePath);
  }
  /** `handler`, `locale`, `_`, `staticUrl`, …: Tornado's `get_template_namespace`. */
  getTemplateNamespace(): TemplateNamespace {
    return templates.templateNamespace(this);
  }
  /** `getUserLocale()`, else `getBrowserLocale()`; assignable. Tornado: `locale`. */
  get locale(): Locale {
    return templates.localeOf(this);
  }
  set locale(locale: Locale) {
    templates.setLocale(this, locale);
  }
  /** Override to pick the user's locale (`null`: ask the browser). Tornado: `get_user_locale`. */
  getUserLocale(): Locale | null {
    return null;
  }
  /** The loaded locale best matching `Accept-Language`. Tornado: `get_browser_locale`. */
  getBrowserLocale(defaultCode = this.settings.defaultLocale ?? 'en_US'): Locale {
    return templates.browserLocale(this, defaultCode);
  }

  // --- execution -----------------------------------------------------------------------------

  /** Run the handler for a matched request (called by the application). */
  [kExecute](
    args: Array<string | undefined>,
    kwargs: Record<string, string | undefined> | undefined,
    transforms: OutputTransform[] | null,
  ): void {
    this[kSetTransforms](transforms);
    try {
      const method = this.request.method;
      const supported = (this.constructor as typeof RequestHandler).SUPPORTED_METHODS;
      if (!supported.includes(method)) throw new HTTPError(405);
      if (kwargs !== undefined) {
        const decoded = Object.create(null) as Record<string, string | undefined>;
        for (const key in kwargs) decoded[key] = decodePathArgument(this, kwargs[key]);
        this.pathKwargs = decoded;
      } else if (args.length > 0) {
        // (No groups: pathArgs keeps the empty array the constructor made.)
        const decoded: Array<string | undefined> = new Array<string | undefined>(args.length);
        for (let i = 0; i < args.length; i++) decoded[i] = decodePathArgument(this, args[i]);
        this.pathArgs = decoded;
      }
      this.checkXsrf();
      // A streaming handler reads its body between prepare() and the method.
      const prepared = (this.constructor as typeof RequestHandler).streamRequestBody
        ? prepareWithBody(this)
        : this.prepare();
      if (isThenable(prepared)) {
        prepared.then(
          () => this.#runMethod(kwargs !== undefined),
          (error: unknown) => this.#handleRequestException(error),
        );
        return;
      }
      this.#runMethod(kwargs !== undefined);
    } catch (error) {
      this.#handleRequestException(error);
    }
  }

  /**
   * Called before `prepare()` for every request; the XSRF check hooks in here (it runs after
   * the 405 check and before `prepare()`, as Tornado orders it).
   */
  protected checkXsrf(): void {
    if (cookies.needsXsrfCheck(this)) this.checkXsrfCookie();
  }

  #runMethod(named: boolean): void {
    try {
      if (this.finished) return;
      const method = this.request.method;
      const name = METHOD_NAMES[method] ?? method.toLowerCase();
      const fn = (this as unknown as Record<string, unknown>)[name];
      if (typeof fn !== 'function') throw new HTTPError(405);
      this[kMethodStart]();
      let result: unknown = named
        ? (fn as AnyMethod).call(this, this.pathKwargs)
        : (fn as AnyMethod).apply(this, this.pathArgs);
      if (isGeneratorObject(result)) {
        const generator = result;
        result = coroutine(() => generator)();
      }
      if (isThenable(result)) {
        result.then(
          () => this.#autoFinishNow(),
          (error: unknown) => this.#handleRequestException(error),
        );
        return;
      }
      this.#autoFinishNow();
    } catch (error) {
      this.#handleRequestException(error);
    }
  }

  #autoFinishNow(): void {
    if (!this.autoFinish || this.finished) return;
    try {
      if (this.finish !== HandlerOutput.prototype.finish) void this.finish();
      else this[kFinish](undefined);
    } catch (error) {
      this.#handleRequestException(error);
    }
  }

  #handleRequestException(error: unknown): void {
    if (error instanceof Finish) {
      if (!this.finished) {
        try {
          this[kFinish](error.chunk);
        } catch (finishError) {
          appLog.error(`Exception finishing ${this.requestSummary()}`, finishError);
        }
      }
      return;
    }
    error = asRequestError(error);
    try {
      this.logException(error);
    } catch (logError) {
      appLog.error('Exception in logException', logError);
    }
    if (this.finished) return;
    if (error instanceof StreamClosedError && this.request.connection?.closed === true) {
      // No error page can reach a client that left: the request ends as it stood (its status
      // in the access log, onFinish), as Tornado's static handler does when its flush fails.
      try {
        this[kFinish](undefined);
      } catch (finishError) {
        genLog.debug(`${this.requestSummary()}: finishing after the client left`, finishError);
      }
      return;
    }
    try {
      if (error instanceof HTTPError) this.sendError(error.statusCode, { error });
      else this.sendError(500, { error });
    } catch (sendFailure) {
      appLog.error(
        `Exception sending the error response for ${this.requestSummary()}`,
        sendFailure,
      );
    }
  }

  /**
   * Log an exception that ended the request: an {@link HTTPError} with a log message as a
   * warning on `genLog`, any other error with its stack on `appLog`. Tornado: `log_exception`.
   */
  logException(error: unknown): void {
    // A write to a client that left: expected, and already told through onConnectionClose.
    if (error instanceof StreamClosedError && this.request.connection?.closed === true) {
      genLog.debug(`${this.requestSummary()}: client left (${error.message})`);
      return;
    }
    logRequestException(this.requestSummary(), this.request, error);
  }
}

/** The supported methods whose handler method a subclass defines, for a 405's `Allow`. */
function allowedMethods(handler: RequestHandler): string {
  const supported = (handler.constructor as typeof RequestHandler).SUPPORTED_METHODS;
  const base = RequestHandler.prototype as unknown as Record<string, unknown>;
  const own = handler as unknown as Record<string, unknown>;
  const allowed: string[] = [];
  for (const method of supported) {
    const name = METHOD_NAMES[method] ?? method.toLowerCase();
    const fn = own[name];
    if (typeof fn === 'function' && fn !== base[name]) allowed.push(method);
  }
  return allowed.join(', ');
}
