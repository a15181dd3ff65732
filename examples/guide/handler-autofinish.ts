/**
 * The second right way: Tornado's old `@web.asynchronous`, here `this.autoFinish = false`.
 * `post()` starts the work and returns; the request stays open until the work calls
 * `this.finish()`:
 *
 *     test
 *     response 200
 *     done
 *     200 POST /test (127.0.0.1) 101.80ms
 *
 * Run it: `node examples/guide/handler-autofinish.ts`
 * Tornado guide: the `@web.asynchronous` decorator.
 */
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';
import { coroutine } from '../../src/gen.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';
import type { GuideHandlerArgs } from './handler-forgets-to-wait.ts';

/** `autoFinish = false`: the connection stays open until `test()` calls `finish()`. */
export class AutoFinishOffHandler extends RequestHandler {
  upstream = '';
  events: string[] = [];

  override initialize(initArgs: object): void {
    ({ upstream: this.upstream, events: this.events } = initArgs as GuideHandlerArgs);
    this.autoFinish = false;
  }

  override post(): void {
    void this.test('test');
  }

  test = coroutine(function* (this: AutoFinishOffHandler, msg: string) {
    this.events.push(msg);
    const response = (yield new AsyncHTTPClient().fetch(this.upstream)) as HTTPResponse;
    this.events.push(`response ${response.code}`);
    this.events.push('done');
    void this.finish(`upstream said ${response.code}`);
  });

  override onFinish(): void {
    this.events.push('finished');
  }
}

/** The application of this example. */
export function makeApp(upstream: string, events: string[]): Application {
  return new Application([['/test', AutoFinishOffHandler, { upstream, events }]]);
}

if (import.meta.filename === process.argv[1]) {
  const { runGuideDemo } = await import('./guide-demo.ts');
  await runGuideDemo(makeApp);
}
