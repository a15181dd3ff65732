// The test helpers typhoon ships (src/testing.ts) that other tests lean on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../src/testing.ts';
import { Application, RequestHandler } from '../src/web/index.ts';

class Hello extends RequestHandler {
  override get(): void {
    this.write('hello');
  }
}

test('TestServer[Symbol.asyncDispose] closes the server, as close() does', async () => {
  const srv = await startTestServer(new Application([['/', Hello]]));
  assert.equal(await (await srv.fetch('/')).text(), 'hello');
  // What `await using srv = …` calls at the end of its block (the syntax needs Node 24).
  await srv[Symbol.asyncDispose]();
  await assert.rejects(srv.fetch('/'), TypeError); // fetch failed: nothing listens
});
