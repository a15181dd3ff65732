// Benchmarks must not rot: each one runs here in smoke mode (one short round per contender),
// so a benchmark that no longer compiles or crashes fails the suite. Speed is never asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('../../bench/', import.meta.url));
const names = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();

for (const name of names) {
  test(`benchmark ${name} runs in smoke mode`, { timeout: 120_000 }, async () => {
    const { stdout } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        [`${benchDir}run.ts`, name, '--smoke'],
        {
          timeout: 110_000,
          maxBuffer: 16 * 1024 * 1024,
          env: { ...process.env, BENCH_SMOKE: '1' },
        },
        (error, stdout, stderr) => {
          if (error) reject(new Error(`${error.message}\n${stdout}\n${stderr}`));
          else resolve({ stdout, stderr });
        },
      );
    });
    // Every benchmark prints at least one table with a ratio column.
    assert.match(stdout, /\| contender \| median/);
    assert.match(stdout, /\d+\.\d\dx/);
    // The soak's point is a guarantee, not a speed: even its short run must lose nothing and
    // hand nothing to a page twice, through a Redis restart.
    if (name === 'soak') {
      assert.match(stdout, /> targets: lost 0 \(want 0: met\)/);
      assert.match(stdout, /duplicates handed to the page 0 \(want 0: met\)/);
    }
  });
}

test(
  'several benchmarks run one process each and report together',
  { timeout: 120_000 },
  async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [`${benchDir}run.ts`, 'future', 'multi', '--smoke'],
        { timeout: 110_000, maxBuffer: 16 * 1024 * 1024 },
        (error, out, stderr) => {
          if (error) reject(new Error(`${error.message}\n${out}\n${stderr}`));
          else resolve(out);
        },
      );
    });
    assert.equal(stdout.match(/^# typhoon benchmarks/gm)?.length, 1, 'one heading');
    assert.match(stdout, /### await an already-resolved placeholder/);
    assert.match(stdout, /### parallel wait on 1000 pending children/);
  },
);

test('the benchmark list is not empty', () => {
  assert.ok(names.length > 0, 'no bench/*.bench.ts found');
});
