// The README's first application works as the README says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestServer } from '../../src/testing.ts';
import { makeHelloApp } from '../../examples/hello.ts';

test('the hello example answers JSON and greets by path argument', async () => {
  const server = await startTestServer(makeHelloApp());
  try {
    const hello = await server.fetch('/');
    assert.equal(hello.status, 200);
    assert.match(hello.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await hello.json(), { hello: 'world' });
    const greet = await server.fetch('/greet/ada');
    assert.equal(await greet.text(), 'Hello, ada!\n');
  } finally {
    await server.close();
  }
});

test('the README shows the same handlers as examples/hello.ts', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const example = readFileSync(new URL('../../examples/hello.ts', import.meta.url), 'utf8');
  for (const line of [
    "this.write({ hello: 'world' });",
    "['/greet/([a-z]+)', GreetHandler],",
    'override async get(name: string) {',
  ]) {
    assert.ok(example.includes(line), `examples/hello.ts lacks ${line}`);
    assert.ok(readme.includes(line), `README.md lacks ${line}`);
  }
});
