/**
 * `Application`: a collection of routing rules and settings that the HTTP server serves.
 *
 * It implements the server's `HTTPServerConnectionDelegate` (as {@link ApplicationLike}, the
 * shape its handlers see): for each request it picks the rule whose host pattern and path
 * pattern match, buffers the body (unless the handler streams it), creates the handler, and
 * runs it. Unmatched requests go to `settings.defaultHandlerClass`, or get a 404.
 *
 * @example
 * ```ts
 * class MainHandler extends RequestHandler {
 *   get() { this.write('Hello, world'); }
 * }
 * const app = new Application([['/', MainHandler]], { debug: false });
 * const server = await app.listen(8888);
 * ```
 * Tornado: `tornado.web.Application`.
 * @module
 */

import { Buffer } from 'node:buffer';
import { accessLog, appLog } from '../log.ts';
import { autoreload } from '../process/index.ts';
import { HTTPServer, type HTTPServerOptions } from '../httpserver/index.ts';
import type { HTTPConnection, HTTPMessageDelegate, HTTPServerRequest } from '../httputil/index.ts';
import type {
  ApplicationLike,
  ApplicationSettings,
  HandlerClass,
  HandlerLike,
  OutputTransform,
  OutputTransformFactory,
  RouteMatch,
  Rule,
} from './settings.ts';
import { kConnectionClose, kExecute } from '../internal/symbols.ts';
import { toURLSpec, type PathMatch, type URLSpec } from './routing.ts';
import { ErrorHandler } from './handlers.ts';
// issue 6: static files, compression, streamed bodies
import { staticRules } from './static-file-handler.ts';
import { GZipContentEncoding } from './transforms.ts';
import { StreamedBody } from './stream-body.ts';

// Declared in settings.ts (which handlers import without importing this module); re-exported
// for code that imports them from here.
export type { ApplicationSettings, HandlerClass, Rule, RouteMatch } from './settings.ts';

interface HostRules {
  host: RegExp;
  rules: URLSpec<HandlerClass>[];
}

const NO_MATCH: PathMatch = { args: [], kwargs: undefined };

/**
 * Routes requests to handlers. See the module documentation.
 * Tornado: `tornado.web.Application`.
 */
export class Application implements ApplicationLike {
  /** The settings given to the constructor (plus defaults). */
  readonly settings: ApplicationSettings;
  /** Factories of output transforms run on every response. */
  readonly transforms: OutputTransformFactory[];
  #hosts: HostRules[] = [];
  #defaultRules: URLSpec<HandlerClass>[] = [];
  #named = new Map<string, URLSpec<HandlerClass>>();

  constructor(handlers: readonly Rule[] = [], settings: ApplicationSettings = {}) {
    this.settings = { ...settings };
    if (this.settings.debug && this.settings.serveTraceback === undefined)
      this.settings.serveTraceback = true;
    if (this.settings.debug && this.settings.compiledTemplateCache === undefined)
      this.settings.compiledTemplateCache = false;
    // Development only (Tornado: `autoreload`, on with `debug`); never on by default.
    if (this.settings.autoreload ?? this.settings.debug) {
      this.settings.autoreload = true;
      autoreload.start();
      const templatePath = this.settings.templatePath;
      if (typeof templatePath === 'string') autoreload.watch(templatePath);
    }
    this.transforms = [...(settings.transforms ?? [])];
    // issue 6: compression runs first (as Tornado's), static routes come before the app's own.
    if (this.settings.compressResponse) this.transforms.unshift(GZipContentEncoding.factory);
    for (const rule of staticRules(this.settings))
      this.#defaultRules.push(this.#addNamed(toURLSpec(rule)));
    for (const rule of handlers) this.#defaultRules.push(this.#addNamed(toURLSpec(rule)));
  }

  #addNamed(spec: URLSpec<HandlerClass>): URLSpec<HandlerClass> {
    if (spec.name !== undefined) {
      if (this.#named.has(spec.name))
        appLog.warning(`Multiple handlers named ${spec.name}; replacing previous value`);
      this.#named.set(spec.name, spec);
    }
    return spec;
  }

  /**
   * Add rules for requests whose host name matches `hostPattern` (an anchored regex on the
   * host without port). Host-specific rules are tried before the ones given to the
   * constructor, in the order they were added. Tornado: `Application.add_handlers`.
   */
  addHandlers(hostPattern: string | RegExp, handlers: readonly Rule[]): void {
    let source = typeof hostPattern === 'string' ? hostPattern : hostPattern.source;
    if (source.startsWith('^')) source = source.slice(1);
    if (source.endsWith('$')) source = source.slice(0, -1);
    const host = new RegExp(`^(?:${source})$`, 'i');
    let entry = this.#hosts.find((h) => h.host.source === host.source);
    if (entry === undefined) {
      entry = { host, rules: [] };
      this.#hosts.push(entry);
    }
    for (const rule of handlers) entry.rules.push(this.#addNamed(toURLSpec(rule)));
  }

  /** Add an output transform factory for every later response. Tornado: `add_transform`. */
  addTransform(factory: OutputTransformFactory): void {
    this.transforms.push(factory);
  }

  /**
   * The path of the rule called `name`, with its groups filled from `args`.
   * Tornado: `Application.reverse_url`.
   */
  reverseUrl(name: string, ...args: unknown[]): string {
    const spec = this.#named.get(name);
    if (spec === undefined) throw new Error(`${name} not found in named urls`);
    return spec.reverse(...args);
  }

  /** Find the handler for a request (the default handler or a 404 when nothing matches). */
  findHandler(request: HTTPServerRequest): RouteMatch {
    const path = request.path;
    if (this.#hosts.length > 0) {
      const hostName = request.hostName;
      for (const entry of this.#hosts) {
        if (!entry.host.test(hostName)) continue;
        const found = matchRules(entry.rules, path);
        if (found !== null) return found;
      }
    }
    const found = matchRules(this.#defaultRules, path);
    if (found !== null) return found;
    const fallback = this.settings.defaultHandlerClass;
    if (fallback !== undefined) {
      return {
        handlerClass: fallback,
        initArgs: this.settings.defaultHandlerArgs ?? {},
        match: NO_MATCH,
      };
    }
    return {
      handlerClass: ErrorHandler as HandlerClass,
      initArgs: { statusCode: 404 },
      match: NO_MATCH,
    };
  }

  /**
   * Start serving: create an {@link HTTPServer} for this application and listen on `port`
   * (0 picks a free one). Resolves to the server (its port: `server.address()`).
   * Tornado: `Application.listen`.
   */
  async listen(
    port = 0,
    host?: string,
    serverOptions: HTTPServerOptions = {},
  ): Promise<HTTPServer> {
    const server = new HTTPServer(this, serverOptions);
    await server.listen(port, host);
    return server;
  }

  /** The server's entry point: a delegate for one request. */
  startRequest(connection: HTTPConnection): HTTPMessageDelegate {
    return new HandlerDispatcher(this, connection);
  }

  /**
   * Write the access log line for a finished request: `200 GET /path (127.0.0.1) 1.23ms`,
   * at info below 400, warning below 500, error from 500; or call `settings.logFunction`.
   * Tornado: `Application.log_request`.
   */
  logRequest(handler: HandlerLike): void {
    const logFunction = this.settings.logFunction;
    if (logFunction !== undefined) {
      logFunction(handler);
      return;
    }
    const status = handler.getStatus();
    const level = status < 400 ? 'info' : status < 500 ? 'warning' : 'error';
    if (!accessLog.isEnabledFor(level)) return;
    const request = handler.request;
    accessLog.log(
      level,
      `${status} ${request.method} ${request.uri} (${request.remoteIp}) ${request.requestTime().toFixed(2)}ms`,
    );
  }
}

function matchRules(rules: readonly URLSpec<HandlerClass>[], path: string): RouteMatch | null {
  for (let i = 0; i < rules.length; i++) {
    const spec = rules[i]!;
    const match = spec.match(path);
    if (match !== null) return { handlerClass: spec.handlerClass, initArgs: spec.initArgs, match };
  }
  return null;
}

/**
 * Serves one request for the application: routes on the head, buffers the body, runs the
 * handler. Tornado: `tornado.web._HandlerDelegate`.
 */
class HandlerDispatcher implements HTTPMessageDelegate {
  readonly application: Application;
  readonly connection: HTTPConnection;
  request: HTTPServerRequest | undefined;
  route: RouteMatch | undefined;
  chunks: Buffer[] | null = null;
  handler: HandlerLike | undefined;
  closed = false;
  /** The body being streamed to a `streamRequestBody` handler (issue 6). */
  body: StreamedBody | null = null;

  constructor(application: Application, connection: HTTPConnection) {
    this.application = application;
    this.connection = connection;
  }

  headersReceived(request: HTTPServerRequest): void | Promise<void> {
    this.request = request;
    const route = this.application.findHandler(request);
    this.route = route;
    // issue 6: a per-handler body limit, and streamed bodies (run prepare() before reading).
    const cls = route.handlerClass as { maxBodySize?: number; streamRequestBody?: boolean };
    if (cls.maxBodySize !== undefined) this.connection.setMaxBodySize(cls.maxBodySize);
    if (cls.streamRequestBody === true) {
      this.execute();
      return this.body === null ? undefined : this.body.prepared;
    }
    // A handler that takes the Node objects over must run before the body is read.
    if ((route.handlerClass as { takesOverConnection?: boolean }).takesOverConnection === true) {
      this.execute();
    }
  }

  dataReceived(chunk: Buffer): void | Promise<void> {
    if (this.body !== null) return this.body.deliver(chunk);
    if (this.chunks === null) this.chunks = [chunk];
    else this.chunks.push(chunk);
  }

  finish(): void {
    if (this.body !== null) {
      this.body.end();
      return;
    }
    const request = this.request!;
    const chunks = this.chunks;
    if (chunks !== null) {
      request.body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      this.chunks = null;
    }
    this.execute();
  }

  execute(): void {
    const route = this.route;
    if (this.closed || route === undefined) return;
    this.route = undefined; // runs once; a held request keeps less
    const application = this.application;
    const handler = new route.handlerClass(application, this.request!);
    this.handler = handler;
    if ((route.handlerClass as { streamRequestBody?: boolean }).streamRequestBody === true)
      this.body = new StreamedBody(handler);
    const factories = application.transforms;
    let transforms: OutputTransform[] | null = null;
    if (factories.length > 0) transforms = factories.map((factory) => factory(this.request!));
    try {
      const initialized = handler.initialize(route.initArgs);
      if (
        initialized !== undefined &&
        initialized !== null &&
        typeof initialized.then === 'function'
      ) {
        initialized.then(
          () => handler[kExecute](route.match.args, route.match.kwargs, transforms),
          (error: unknown) => {
            appLog.error(`Exception in initialize of ${handler.requestSummary()}`, error);
            handler.sendError(500, { error });
          },
        );
        return;
      }
    } catch (error) {
      appLog.error(`Exception in initialize of ${handler.requestSummary()}`, error);
      handler.sendError(500, { error });
      return;
    }
    handler[kExecute](route.match.args, route.match.kwargs, transforms);
  }

  onConnectionClose(): void {
    this.closed = true;
    this.chunks = null;
    this.body?.abort();
    this.handler?.[kConnectionClose]();
  }
}
