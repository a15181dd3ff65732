/**
 * The first right way: the handler waits for the work. `post()` is a generator coroutine that
 * yields `this.test()` (an `async post()` that awaits it is the same), so the method returns
 * a Future and typhoon finishes the request only when it resolves:
 *
 *     test
 *     response 200
 *     done
 *     200 POST /test (127.0.0.1) 103.10ms    <- response sent after the fetch
 *
 * Run it: `node examples/guide/handler-awaits.ts`
 * Tornado guide: "Coroutines" (`@gen.coroutine` + `yield`).
 */
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';
import { coroutine } from '../../src/gen.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';
import type { GuideHandlerArgs } from './handler-forgets-to-wait.ts';

/** What both versions share: the upstream fetch of the guide's `test()`. */
class UpstreamHandler extends RequestHandler {
  upstream = '';
  events: string[] = [];

  override initialize(initArgs: object): void {
    ({ upstream: this.upstream, events: this.events } = initArgs as GuideHandlerArgs);
  }

  test = coroutine(function* (this: UpstreamHandler, msg: string) {
    this.events.push(msg);
    const response = (yield new AsyncHTTPClient().fetch(this.upstream)) as HTTPResponse;
    this.events.push(`response ${response.code}`);
    return response;
  });

  override onFinish(): void {
    this.events.push('finished');
  }
}

/** `post()` yields the work, so the response waits for it. */
export class AwaitsHandler extends UpstreamHandler {
  override *post(): Generator<unknown, void, unknown> {
    const response = (yield this.test('test')) as HTTPResponse;
    this.events.push('done');
    this.write(`upstream said ${response.code}`);
  }
}

/** The same with `async`/`await`. */
export class AsyncAwaitsHandler extends UpstreamHandler {
  override async post(): Promise<void> {
    const response = await this.test('test');
    this.events.push('done');
    this.write(`upstream said ${response.code}`);
  }
}

/** The application of this example (`/test` generator, `/test-async` async). */
export function makeApp(upstream: string, events: string[]): Application {
  return new Application([
    ['/test', AwaitsHandler, { upstream, events }],
    ['/test-async', AsyncAwaitsHandler, { upstream, events }],
  ]);
}

if (import.meta.filename === process.argv[1]) {
  const { runGuideDemo } = await import('./guide-demo.ts');
  await runGuideDemo(makeApp);
}
