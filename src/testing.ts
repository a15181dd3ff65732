/// <reference types="node" preserve="true" />

/**
 * Helpers for testing typhoon applications with `node:test`.
 *
 * - {@link expectLog} claims log records a test expects, so a suite that fails on unclaimed
 *   warnings and errors (as typhoon's own does) stays green only for the logs you meant.
 * - {@link bindUnusedPort} gives a listening socket on 127.0.0.1 and its port.
 * - {@link genTest} fails a test whose coroutine outlives its timeout, with the stack of the
 *   pending code.
 * - {@link startTestServer} serves an application (or a handler class, or a request callback)
 *   on an unused port of 127.0.0.1 and fetches from it.
 *
 * Tornado: `tornado.testing` (`ExpectLog`, `bind_unused_port`, `gen_test`).
 * @module typhoon/testing
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import process from 'node:process';
import * as net from 'node:net';
import { addLogInterceptor, type LogLevel, type Logger, type LogRecord } from './log.ts';
import { TimeoutError } from './errors.ts';
import { HTTPServer, type HTTPServerOptions } from './httpserver/index.ts';
import type { HTTPRequestCallback, HTTPServerConnectionDelegate } from './httputil/index.ts';
import { Application, RequestHandler } from './web/index.ts';

/** Options of {@link expectLog}. */
export interface ExpectLogOptions {
  /** Fail if no matching record was seen. Default true. */
  required?: boolean;
  /** Only claim records at this level. */
  level?: LogLevel;
}

/**
 * Run `fn` and claim the records of `logger` whose message matches `pattern` (a RegExp, or a
 * string the message must start with), so they are neither printed nor counted as unexpected.
 * Throws if `required` (the default) and nothing matched. Returns what `fn` returned; the
 * claimed records are passed to `fn` through nothing — read them with `onRecord` if needed.
 *
 * @example
 * ```ts
 * await expectLog(appLog, /Exception in callback/, async () => {
 *   IOLoop.current().addCallback(() => { throw new Error('boom'); });
 *   await sleep(10);
 * });
 * ```
 * Tornado: `tornado.testing.ExpectLog`.
 */
export async function expectLog<T>(
  logger: Logger,
  pattern: RegExp | string,
  fn: () => T | PromiseLike<T>,
  options: ExpectLogOptions = {},
): Promise<T> {
  const claimed: LogRecord[] = [];
  const matches = (message: string) =>
    typeof pattern === 'string' ? message.startsWith(pattern) : pattern.test(message);
  const remove = addLogInterceptor((record) => {
    if (record.logger !== logger.name) return false;
    if (options.level !== undefined && record.level !== options.level) return false;
    if (!matches(record.message)) return false;
    claimed.push(record);
    return true;
  });
  let result: T;
  try {
    result = await fn();
  } finally {
    remove();
  }
  if ((options.required ?? true) && claimed.length === 0) {
    throw new Error(`did not get expected log message ${String(pattern)} on ${logger.name} logger`);
  }
  return result;
}

/**
 * Open a listening TCP socket on an unused port of `host` (default 127.0.0.1). Returns the
 * server and its port. Tornado: `tornado.testing.bind_unused_port`.
 */
export async function bindUnusedPort(
  host = '127.0.0.1',
): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port bound');
  return { server, port: address.port };
}

/** Options of {@link genTest}. */
export interface GenTestOptions {
  /** Fail the test after this many ms. Default 5000, or `TYPHOON_TEST_TIMEOUT` (ms). */
  timeout?: number;
}

/**
 * Wrap an async test body so that it fails with a `TimeoutError` if it has not finished
 * within `timeout` ms; the error's message carries the stack where the body was started.
 *
 * @example
 * ```ts
 * test('fetches', genTest(async () => { await something(); }, { timeout: 1000 }));
 * ```
 * Tornado: `tornado.testing.gen_test`.
 */
export function genTest(fn: () => unknown, options: GenTestOptions = {}): () => Promise<void> {
  const timeout = options.timeout ?? (Number(process.env.TYPHOON_TEST_TIMEOUT) || 5000);
  return async () => {
    const started = new Error('test body started here');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new TimeoutError(`test timed out after ${timeout} ms\n${started.stack ?? ''}`));
      }, timeout);
    });
    try {
      await Promise.race([Promise.resolve().then(fn), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** A server started by {@link startTestServer}. */
export interface TestServer {
  /** The bound port on 127.0.0.1. */
  readonly port: number;
  /** The running server. */
  readonly server: HTTPServer;
  /** `http://127.0.0.1:PORT` + `path` (default `/`). */
  url(path?: string): string;
  /** Node's global `fetch` of {@link TestServer.url}`(path)`. */
  fetch(path?: string, init?: RequestInit): Promise<Response>;
  /** Stop the server and close every connection; resolves when all are closed. */
  close(): Promise<void>;
  /** {@link TestServer.close}, so that `await using srv = await startTestServer(app)` closes it. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What {@link startTestServer} can serve. */
export type TestServerTarget =
  HTTPServerConnectionDelegate | HTTPRequestCallback | (new (...args: never[]) => RequestHandler);

/**
 * Serve an `Application`, a `RequestHandler` subclass (mounted on every path) or a request
 * callback on an unused port of 127.0.0.1. Close it when the test ends.
 *
 * @example
 * ```ts
 * const srv = await startTestServer(new Application([['/', MainHandler]]));
 * try {
 *   const res = await srv.fetch('/');
 *   assert.equal(await res.text(), 'Hello, world');
 * } finally {
 *   await srv.close();
 * }
 * ```
 * Tornado: `tornado.testing.AsyncHTTPTestCase` (`get_app`, `get_url`, `fetch`).
 */
export async function startTestServer(
  target: TestServerTarget,
  options: HTTPServerOptions = {},
): Promise<TestServer> {
  let delegate: HTTPServerConnectionDelegate | HTTPRequestCallback;
  if (typeof target === 'function' && target.prototype instanceof RequestHandler) {
    delegate = new Application([
      ['.*', target as unknown as new (...args: never[]) => RequestHandler],
    ] as never);
  } else {
    delegate = target as HTTPServerConnectionDelegate | HTTPRequestCallback;
  }
  const server = new HTTPServer(delegate, options);
  const port = await server.listen(0, '127.0.0.1');
  const scheme = options.sslOptions ? 'https' : 'http';
  const url = (path = '/') =>
    `${scheme}://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`;
  return {
    port,
    server,
    url,
    fetch: (path = '/', init?: RequestInit) => fetch(url(path), init),
    close: () => server.stop(),
    [Symbol.asyncDispose]: () => server.stop(),
  };
}
