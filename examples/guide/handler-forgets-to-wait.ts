/**
 * The guide's mistake: a handler that starts asynchronous work without waiting for it. `post()`
 * returns nothing to wait for, so the request is finished as soon as it returns; the fetch
 * completes later, after the client already has its (empty) answer. The log shows it:
 *
 *     test
 *     done
 *     200 POST /test (127.0.0.1) 2.23ms      <- response sent
 *     response 200                            <- the fetch finishes afterwards
 *
 * Run it: `node examples/guide/handler-forgets-to-wait.ts`
 * Tornado guide: "Asynchronous and non-Blocking I/O" / the `@web.asynchronous` note.
 */
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';
import { coroutine } from '../../src/gen.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';

/** `initArgs` of the guide handlers: where to fetch from, and where to record what happens. */
export interface GuideHandlerArgs {
  upstream: string;
  events: string[];
}

/** `post()` calls `this.test()` and does not wait for it: the request finishes early. */
export class ForgetsToWaitHandler extends RequestHandler {
  upstream = '';
  events: string[] = [];

  override initialize(initArgs: object): void {
    ({ upstream: this.upstream, events: this.events } = initArgs as GuideHandlerArgs);
  }

  override post(): void {
    void this.test('test'); // not returned, not awaited: nothing tells typhoon to wait
    this.events.push('done');
  }

  test = coroutine(function* (this: ForgetsToWaitHandler, msg: string) {
    this.events.push(msg);
    const response = (yield new AsyncHTTPClient().fetch(this.upstream)) as HTTPResponse;
    this.events.push(`response ${response.code}`);
    return response;
  });

  override onFinish(): void {
    this.events.push('finished');
  }
}

/** The application of this example. */
export function makeApp(upstream: string, events: string[]): Application {
  return new Application([['/test', ForgetsToWaitHandler, { upstream, events }]]);
}

if (import.meta.filename === process.argv[1]) {
  const { runGuideDemo } = await import('./guide-demo.ts');
  await runGuideDemo(makeApp);
}
