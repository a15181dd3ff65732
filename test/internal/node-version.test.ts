// The Node.js version check every entry point runs first (the real refusal on an old Node is in
// test/package/package.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSupportedNode, MINIMUM_NODE } from '../../src/internal/node-version.ts';

test('22.19 and later are supported, anything before is not', () => {
  assert.deepEqual(MINIMUM_NODE, [22, 19]);
  for (const v of ['22.19.0', '22.20.1', '23.0.0', '24.21.0', '30.1.2']) {
    assert.equal(isSupportedNode(v), true, v);
  }
  for (const v of ['22.18.9', '22.0.0', '21.99.0', '20.20.2', '18.0.0', '']) {
    assert.equal(isSupportedNode(v), false, v);
  }
});

test('the running Node passes the check (importing typhoon did not throw)', () => {
  assert.equal(isSupportedNode(process.versions.node), true);
});

test('package.json engines says the same minimum', async () => {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(
    await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as {
    engines: { node: string };
  };
  assert.equal(pkg.engines.node, `>=${MINIMUM_NODE.join('.')}`);
});
