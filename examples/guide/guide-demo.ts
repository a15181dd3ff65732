/**
 * Shared runner for the three handler examples: starts a slow local upstream (100 ms), serves
 * the example's application, POSTs once and prints what happened in which order.
 */
import { AsyncHTTPClient } from '../../src/httpclient/index.ts';
import { sleep } from '../../src/gen.ts';
import { configureLogging } from '../../src/log.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';

class SlowUpstream extends RequestHandler {
  override async get(): Promise<void> {
    await sleep(100);
    this.write('upstream body');
  }
}

/** Run one example application end to end and print its event order. */
export async function runGuideDemo(
  makeApp: (upstream: string, events: string[]) => Application,
): Promise<void> {
  configureLogging({ level: 'info' });
  const upstream = await new Application([['/', SlowUpstream]]).listen(0, '127.0.0.1');
  const events: string[] = [];
  const upstreamUrl = `http://127.0.0.1:${upstream.address()!.port}/`;
  const server = await makeApp(upstreamUrl, events).listen(0, '127.0.0.1');
  const started = performance.now();
  const response = await new AsyncHTTPClient().fetch(
    `http://127.0.0.1:${server.address()!.port}/test`,
    { method: 'POST', body: '' },
  );
  events.push(`client got ${response.code} after ${(performance.now() - started).toFixed(0)} ms`);
  await sleep(150);
  console.log(events.join('\n'));
  await server.stop();
  await upstream.stop();
  await new AsyncHTTPClient().close();
}
