// Runs the guide's blocking-function examples: the password hash yielded from a coroutine
// (generator and async) on a ThreadPoolExecutor, and the responsive-loop demo.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ThreadPoolExecutor } from '../../src/executor/index.ts';
import * as blocking from '../../examples/guide/blocking-hash.ts';
import { measure } from '../../examples/guide/responsive-loop.ts';

function runScript(name: string): string {
  const file = fileURLToPath(new URL(`../../examples/guide/${name}`, import.meta.url));
  const child = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return child.stdout;
}

describe('blocking-hash', () => {
  after(() => blocking.threadPool.shutdown());

  test('the generator and the async coroutine get the hash from the thread pool', async () => {
    const expected = pbkdf2Sync('pw', 'salt', 20_000, 32, 'sha256').toString('hex');
    assert.equal(
      await blocking.callBlocking('pw', 'salt', 20_000),
      `pbkdf2-sha256$20000$salt$${expected}`,
    );
    assert.equal(
      await blocking.callBlockingAsync('pw', 'salt', 20_000),
      `pbkdf2-sha256$20000$salt$${expected}`,
    );
  });

  test('the hash really runs on a worker thread (the loop keeps running meanwhile)', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await blocking.callBlockingAsync('pw', 'salt', blocking.ITERATIONS);
    clearInterval(timer);
    assert.ok(ticks > 0, 'the loop ran timers while the hash was computed');
  });

  test('runs as a script', () => {
    const out = runScript('blocking-hash.ts');
    assert.match(out, /generator coroutine: pbkdf2-sha256\$1000000\$NaCl\$[0-9a-f]{64}/);
    assert.match(out, /same digest: true/);
  });
});

describe('responsive-loop', () => {
  test('ticks keep coming with the executor and stall with hashes on the loop', async () => {
    const executor = new ThreadPoolExecutor({ maxWorkers: 2 });
    try {
      await executor.submit(() => 'warm');
      const onLoop = await measure('loop', executor, { jobs: 3, iterations: 300_000 });
      const onExecutor = await measure('executor', executor, { jobs: 3, iterations: 300_000 });
      assert.equal(onLoop.where, 'loop');
      // On the loop no tick gets through while hashing: one gap spans all of it. This holds
      // however busy the machine is, since a timer cannot fire during synchronous work.
      assert.ok(onLoop.maxGapMs >= onLoop.busyMs, JSON.stringify(onLoop));
      // On the executor the loop keeps ticking while the hashes run elsewhere: no gap spans
      // the whole of the work.
      assert.ok(onExecutor.maxGapMs < onExecutor.busyMs, JSON.stringify(onExecutor));
      assert.ok(onExecutor.ticks > 1, JSON.stringify(onExecutor));
    } finally {
      await executor.shutdown();
    }
  });

  test('runs as a script', () => {
    const out = runScript('responsive-loop.ts');
    assert.match(out, /hashes on the loop\s*:\s+\d+ ticks/);
    assert.match(out, /hashes on the executor:\s+\d+ ticks/);
  });
});
