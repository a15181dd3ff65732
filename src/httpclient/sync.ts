/**
 * The blocking HTTP client of Tornado's guide ({@link HTTPClient}): `fetch` returns the
 * response itself. It runs an `AsyncHTTPClient` on a worker thread and parks the calling
 * thread with `Atomics.wait` until the worker answers, so it works even while the caller's
 * own loop has work pending (that work simply waits, as it would in Tornado).
 *
 * ```
 *  main thread                         worker thread (sync-worker.ts)
 *  fetch(url) ── postMessage ─────────▶ AsyncHTTPClient.fetch(url)
 *  Atomics.wait(flag) … parked            … response
 *  receiveMessageOnPort ◀─ postMessage ── flag = 1; Atomics.notify
 * ```
 * @module
 */
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import {
  Worker,
  MessageChannel,
  receiveMessageOnPort,
  type MessagePort,
} from 'node:worker_threads';
import { HTTPClientError } from '../errors.ts';
import { HTTPHeaders } from '../httputil/index.ts';
import {
  HTTPRequest,
  HTTPResponse,
  REQUEST_DEFAULTS,
  type FetchOptions,
  type HTTPRequestOptions,
  type TimeInfo,
} from './request.ts';

/**
 * Options of {@link HTTPClient}: those of a private `AsyncHTTPClient`, minus function-valued
 * request defaults (they cannot cross to the worker thread).
 *
 * @example
 * ```ts
 * const client = new HTTPClient({ defaults: { requestTimeout: 5000 } });
 * ```
 * Tornado: the keyword arguments of `HTTPClient`.
 */
export interface HTTPClientOptions {
  /** Request options applied where a request leaves them unset. */
  defaults?: HTTPRequestOptions;
  /** Largest response body, counted after decompression. Default 100 MiB. */
  maxBodySize?: number;
  /** Largest status line plus headers of a response. Default 64 KiB. */
  maxHeaderSize?: number;
}

/** @internal Message sent to the worker. */
export interface SyncFetchMessage {
  url: string;
  options: FetchOptions;
}

/** @internal The worker's answer. */
export interface SyncFetchReply {
  code: number;
  reason: string;
  /** Header names and values, flattened: `[name, value, name, value, …]`. */
  headers: string[];
  body: Uint8Array;
  effectiveUrl: string;
  requestTime: number;
  startTime: number;
  timeInfo: TimeInfo;
  error?: {
    code: number;
    message: string;
    statusError: boolean;
    cause?: { name: string; message: string; code?: unknown };
  };
}

const FUNCTION_OPTIONS = [
  'bodyProducer',
  'streamingCallback',
  'headerCallback',
  'callback',
] as const;
const SLICE_MS = 1000;
const WORKER_START_MS = 10_000;

function workerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./sync-worker${ext}`, import.meta.url);
}

/**
 * A blocking HTTP client for scripts and REPLs: `fetch` waits for the response and returns
 * it, or throws an `HTTPClientError` (non-2xx unless `raiseError: false`; 599 for network
 * failures and timeouts). It runs on its own worker thread, created on first use and ended
 * by {@link HTTPClient.close} (or at process exit: the worker does not keep the process
 * alive). Never use it inside a server: it blocks the whole thread, loop included.
 * Function-valued options (`streamingCallback`, `headerCallback`, `bodyProducer`,
 * `callback`) cannot cross to the worker and are refused with a `TypeError`.
 *
 * @example
 * ```ts
 * const client = new HTTPClient();
 * try {
 *   const response = client.fetch('http://www.google.com/');
 *   console.log(response.text);
 * } catch (err) {
 *   console.log('Error:', err);
 * } finally {
 *   client.close();
 * }
 * ```
 * Tornado: `tornado.httpclient.HTTPClient`.
 */
export class HTTPClient {
  #options: HTTPClientOptions;
  #worker: Worker | null = null;
  #port: MessagePort | null = null;
  #flag: Int32Array | null = null;
  #closed = false;

  constructor(options: HTTPClientOptions = {}) {
    for (const name of FUNCTION_OPTIONS) {
      if (typeof (options.defaults as Record<string, unknown> | undefined)?.[name] === 'function') {
        throw new TypeError(
          `HTTPClient defaults cannot include ${name} (functions cannot cross threads)`,
        );
      }
    }
    this.#options = { ...options };
  }

  /**
   * Fetch `urlOrRequest` and return the {@link HTTPResponse}, blocking the calling thread
   * until it is complete. Throws `HTTPClientError` as described on the class.
   *
   * @example
   * ```ts
   * const response = new HTTPClient().fetch('http://localhost:8888/', { requestTimeout: 2000 });
   * ```
   * Tornado: `HTTPClient.fetch`.
   */
  fetch(urlOrRequest: string | HTTPRequest, options: FetchOptions = {}): HTTPResponse {
    if (this.#closed) throw new HTTPClientError(599, 'fetch() called on a closed HTTPClient');
    for (const name of FUNCTION_OPTIONS) {
      const fromRequest =
        urlOrRequest instanceof HTTPRequest && name !== 'callback' ? urlOrRequest[name] : undefined;
      if (typeof options[name] === 'function' || typeof fromRequest === 'function') {
        throw new TypeError(
          `HTTPClient.fetch cannot take ${name}: use AsyncHTTPClient for callbacks`,
        );
      }
    }
    const request =
      urlOrRequest instanceof HTTPRequest ? urlOrRequest : new HTTPRequest(urlOrRequest, options);
    const message: SyncFetchMessage =
      urlOrRequest instanceof HTTPRequest
        ? { url: request.url, options: { ...requestToOptions(request), raiseError: false } }
        : { url: urlOrRequest, options: { ...options, raiseError: false } };
    const raiseError = options.raiseError ?? true;

    this.#ensureWorker();
    const flag = this.#flag!;
    const port = this.#port!;
    Atomics.store(flag, 0, 0);
    port.postMessage(message);
    const deadline = this.#deadline(request);
    let received: { message: SyncFetchReply } | undefined;
    for (;;) {
      received = receiveMessageOnPort(port) as { message: SyncFetchReply } | undefined;
      if (received !== undefined) break;
      const left = deadline - performance.now();
      if (left <= 0) {
        // The worker is stuck or gone; start over with a fresh one next time.
        this.close();
        throw new HTTPClientError(599, 'HTTPClient worker did not answer in time');
      }
      Atomics.wait(flag, 0, 0, Math.min(SLICE_MS, left));
    }
    const reply = received.message;
    let error: HTTPClientError<HTTPResponse> | undefined;
    if (reply.error !== undefined) {
      const causeInfo = reply.error.cause;
      let cause: Error | undefined;
      if (causeInfo !== undefined) {
        cause = new Error(causeInfo.message);
        cause.name = causeInfo.name;
        if (causeInfo.code !== undefined)
          (cause as Error & { code?: unknown }).code = causeInfo.code;
      }
      error = new HTTPClientError<HTTPResponse>(
        reply.error.code,
        reply.error.message,
        cause === undefined ? {} : { cause },
      );
    }
    const response = new HTTPResponse(request, reply.code, {
      reason: reply.reason,
      headers: HTTPHeaders.fromRaw(reply.headers),
      body: Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength),
      effectiveUrl: reply.effectiveUrl,
      error,
      requestTime: reply.requestTime,
      startTime: reply.startTime,
      timeInfo: reply.timeInfo,
    });
    if (error !== undefined) {
      if (reply.code !== 599) (error as unknown as { response: HTTPResponse }).response = response;
      if (raiseError || !reply.error!.statusError) throw error;
    }
    return response;
  }

  /** End the worker thread. Further `fetch` calls throw. Tornado: `HTTPClient.close`. */
  close(): void {
    this.#closed = true;
    this.#port?.close();
    this.#port = null;
    if (this.#worker !== null) {
      this.#worker.terminate().catch(() => undefined);
      this.#worker = null;
    }
  }

  #ensureWorker(): void {
    if (this.#worker !== null) return;
    // Slot 0: "a reply is waiting"; slot 1: "the worker has loaded".
    const shared = new SharedArrayBuffer(8);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(workerUrl(), {
      workerData: { flag: shared, port: port2, options: this.#options },
      transferList: [port2],
      // Workers inherit the process's flags, and `--input-type` (from `node --input-type=module
      // -e …`) makes a worker loaded from a file fail; start clean in that one case.
      ...(process.execArgv.some((arg) => arg.startsWith('--input-type')) ? { execArgv: [] } : {}),
    });
    worker.unref();
    port1.unref();
    // An error in the worker surfaces as a timeout of the blocked fetch; keep it from
    // becoming an uncaught exception of the main thread.
    worker.on('error', () => undefined);
    this.#worker = worker;
    this.#port = port1;
    const flag = new Int32Array(shared);
    this.#flag = flag;
    // A worker that cannot load reports it only through an event this blocked thread would
    // never see; waiting for its "loaded" flag turns that into an error instead of a hang.
    const deadline = performance.now() + WORKER_START_MS;
    while (Atomics.load(flag, 1) === 0) {
      const left = deadline - performance.now();
      if (left <= 0) {
        this.close();
        this.#closed = false; // a later fetch may try a fresh worker
        throw new HTTPClientError(
          599,
          `HTTPClient worker failed to start within ${WORKER_START_MS} ms`,
        );
      }
      Atomics.wait(flag, 1, 0, left);
    }
  }

  /** How long to wait before declaring the worker lost: every timeout that applies, plus slack. */
  #deadline(request: HTTPRequest): number {
    const d = this.#options.defaults ?? {};
    const requestTimeout =
      request.requestTimeout ?? d.requestTimeout ?? REQUEST_DEFAULTS.requestTimeout;
    const connectTimeout =
      request.connectTimeout ?? d.connectTimeout ?? REQUEST_DEFAULTS.connectTimeout;
    const queueTimeout = request.queueTimeout ?? d.queueTimeout ?? requestTimeout;
    const redirects = request.maxRedirects ?? d.maxRedirects ?? REQUEST_DEFAULTS.maxRedirects;
    if (requestTimeout <= 0 || connectTimeout <= 0) return Infinity;
    // First use also pays for the worker's start-up.
    return (
      performance.now() +
      queueTimeout +
      (requestTimeout + connectTimeout) * (redirects + 1) +
      10_000
    );
  }
}

/** The data options of an {@link HTTPRequest}, for sending to the worker. */
function requestToOptions(request: HTTPRequest): FetchOptions {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    if (key === 'url' || key === 'methodGiven' || value === undefined) continue;
    if (key === 'method' && !request.methodGiven) continue;
    options[key] = value;
  }
  return options as FetchOptions;
}
