/// <reference types="node" preserve="true" />

/**
 * typhoon's HTTP client: {@link AsyncHTTPClient} (non-blocking, returns Futures) and
 * {@link HTTPClient} (the blocking client of Tornado's guide, for scripts).
 *
 * The engine is undici, driven through its low-level `dispatch` API: typhoon owns the parts
 * whose semantics Tornado users rely on — the `maxClients` queue and its timeout, connect and
 * request timeouts, the redirect policy, response decompression with a bounded output, and the
 * mapping of every failure to an `HTTPClientError` (599 when no response arrived). undici
 * supplies connection pooling with keep-alive, the HTTP/1.1 parser, TLS and proxies.
 *
 * The pool and queue live in `pool.ts`, one fetch and its attempts in `fetch.ts`, the request
 * and response types in `request.ts`, the blocking client in `sync.ts`.
 * @module typhoon/httpclient
 */
// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import type { Future } from '../concurrent.ts';
import { IOLoop } from '../ioloop.ts';
import {
  ClientCore,
  type AsyncHTTPClientConstructorOptions,
  type AsyncHTTPClientOptions,
  type HTTPClientStats,
} from './pool.ts';
import type { FetchOptions, HTTPRequest, HTTPResponse } from './request.ts';

export { HTTPRequest, HTTPResponse, REQUEST_DEFAULTS, normalizeHeaders } from './request.ts';
export type {
  BodyProducer,
  FetchOptions,
  HTTPRequestOptions,
  HTTPResponseInit,
  HeaderMap,
  HeadersInput,
  TimeInfo,
} from './request.ts';
export { HTTPClient } from './sync.ts';
export type { HTTPClientOptions } from './sync.ts';
export { DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_HEADER_SIZE, DEFAULT_MAX_CLIENTS } from './pool.ts';
export type {
  AsyncHTTPClientOptions,
  AsyncHTTPClientConstructorOptions,
  HTTPClientStats,
} from './pool.ts';

const shared = new WeakMap<IOLoop, AsyncHTTPClient>();
let configured: AsyncHTTPClientOptions = {};

/**
 * The non-blocking HTTP client. `new AsyncHTTPClient()` returns the current loop's shared
 * instance, so libraries and applications reuse one connection pool; pass `forceInstance:
 * true` for a private one (close it when done). At most `maxClients` requests are in flight;
 * later ones wait in order in a queue, and a warning is logged the first time that happens,
 * because a silently full queue is the classic surprise of Tornado's client.
 *
 * `fetch` returns a `Future<HTTPResponse>`. A non-2xx status rejects with an
 * `HTTPClientError` carrying `code` and `response` unless `raiseError: false`; network
 * failures and timeouts reject with code 599 and the underlying error as `cause`, always.
 *
 * @example
 * ```ts
 * const client = new AsyncHTTPClient();
 * try {
 *   const response = await client.fetch('http://example.com/', { requestTimeout: 5000 });
 *   console.log(response.code, response.text);
 * } catch (err) {
 *   if (err instanceof HTTPClientError) console.log('fetch failed', err.code, err.message);
 * }
 * ```
 * Tornado: `tornado.httpclient.AsyncHTTPClient`.
 */
export class AsyncHTTPClient {
  readonly #core: ClientCore;
  readonly #loop: IOLoop | null;

  constructor(options: AsyncHTTPClientConstructorOptions = {}) {
    if (options.forceInstance === true) {
      this.#core = new ClientCore(options);
      this.#loop = null;
      return;
    }
    const loop = IOLoop.current();
    const existing = shared.get(loop);
    // Tornado's constructor hands back the loop's instance; so does this one.
    this.#core =
      existing === undefined ? new ClientCore({ ...configured, ...options }) : existing.#core;
    this.#loop = loop;
    if (existing !== undefined) return existing;
    shared.set(loop, this);
  }

  /**
   * Set what shared instances created from now on use (an existing shared instance keeps
   * its settings, as in Tornado). Pass `{}` to go back to the defaults.
   *
   * @example
   * ```ts
   * AsyncHTTPClient.configure({ maxClients: 50, defaults: { userAgent: 'my-crawler/1.0' } });
   * ```
   * Tornado: `AsyncHTTPClient.configure(None, max_clients=…, defaults=…)`.
   */
  static configure(options: AsyncHTTPClientOptions): void {
    configured = { ...options };
  }

  /**
   * Fetch `urlOrRequest` (a URL string or an {@link HTTPRequest}); `options` are request
   * options (only with a URL) plus `raiseError` and `callback`. Resolves with the
   * {@link HTTPResponse}; see the class documentation for when it rejects. With `callback`,
   * the callback receives the response in every case (with `error` set on failure) and a
   * rejection nobody awaits is not reported as unhandled.
   *
   * @example
   * ```ts
   * const response = await new AsyncHTTPClient().fetch('http://localhost:8888/api', {
   *   method: 'POST',
   *   body: JSON.stringify({ q: 1 }),
   *   headers: { 'Content-Type': 'application/json' },
   * });
   * ```
   * Tornado: `AsyncHTTPClient.fetch`.
   */
  fetch(urlOrRequest: string | HTTPRequest, options?: FetchOptions): Future<HTTPResponse> {
    return this.#core.fetch(urlOrRequest, options);
  }

  /**
   * How many requests hold a `maxClients` slot and how many wait for one.
   *
   * @example
   * ```ts
   * const { inFlight, queued } = new AsyncHTTPClient().stats();
   * ```
   * Tornado: none (typhoon addition: the queue is no longer silent).
   */
  stats(): HTTPClientStats {
    return this.#core.stats();
  }

  /**
   * Close the client: queued and in-flight requests fail with 599, its connections are
   * closed, and a shared instance is forgotten so the next `new AsyncHTTPClient()` makes a
   * fresh one. Resolves once the sockets are closed. Tornado: `AsyncHTTPClient.close`.
   */
  close(): Promise<void> {
    if (this.#loop !== null && shared.get(this.#loop) === this) shared.delete(this.#loop);
    return this.#core.close();
  }
}
