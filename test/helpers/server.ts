// One way for a test to serve an app: `serveApp` starts it, `withTestServer` also closes it.
import type { HTTPServerOptions } from '../../src/httpserver/index.ts';
import { startTestServer, type TestServer, type TestServerTarget } from '../../src/testing.ts';
import { Application, type ApplicationSettings, type Rule } from '../../src/web/index.ts';

export type { TestServer } from '../../src/testing.ts';

/** Serve `new Application(rules, settings)` on an unused port of 127.0.0.1. */
export function serveApp(
  rules: Rule[],
  settings: ApplicationSettings = {},
  options: HTTPServerOptions = {},
): Promise<TestServer> {
  return startTestServer(new Application(rules, settings), options);
}

/**
 * Serve `target` for the length of `fn` and close the server afterwards, whether `fn` returns
 * or throws (the try/finally every test would otherwise write).
 */
export async function withTestServer<T>(
  target: TestServerTarget,
  fn: (server: TestServer) => T | PromiseLike<T>,
  options: HTTPServerOptions = {},
): Promise<T> {
  const server = await startTestServer(target, options);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** The `ws://` URL of `path` on `server`. */
export function wsUrl(server: TestServer, path: string): string {
  return `ws://127.0.0.1:${server.port}${path}`;
}
