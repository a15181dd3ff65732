import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { pbkdf2Sync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { IOLoop } from '../src/ioloop.ts';
import { appLog } from '../src/log.ts';
import { expectLog } from '../src/testing.ts';
import { startBlockingWatchdog, type StallReport } from '../src/internal/watchdog.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function blockTheLoopOnPurpose(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/**
 * Block the loop for `ms` until the watchdog reports a stall with a stack (its thread may still
 * be starting on a busy machine, which the report says); returns the reports.
 */
async function blockUntilSampled(reports: StallReport[], ms: number): Promise<StallReport> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const before = reports.length;
    blockTheLoopOnPurpose(ms);
    await sleep(60);
    const report = reports[before];
    // A stall the watchdog thread could not sample in time is retried too: on a busy machine
    // its thread may be scheduled only after the stall ended, and then the stack it takes is
    // of whatever ran next (documented on setBlockingLogThreshold).
    if (report?.stack?.includes('blockTheLoopOnPurpose')) {
      return report;
    }
    await sleep(100);
  }
  throw new Error(`the watchdog never sampled a stall: ${JSON.stringify(reports)}`);
}

describe('IOLoop.setBlockingLogThreshold', () => {
  test('reports a ~200 ms stall with its duration and the stack of the blocking function', async () => {
    const loop = IOLoop.current();
    const reports: StallReport[] = [];
    try {
      const report = await expectLog(appLog, /^Loop blocked for \d+\.\d ms/, async () => {
        loop.setBlockingLogThreshold(50, { onStall: (r) => reports.push(r) });
        return await blockUntilSampled(reports, 200);
      });
      assert.ok(report.durationMs >= 120, `duration ${report.durationMs}`);
      assert.ok(report.durationMs < 5000, `duration ${report.durationMs}`);
      assert.match(
        report.stack ?? `no stack: ${report.reason}`,
        /at blockTheLoopOnPurpose \(.*watchdog\.test\.ts:\d+:\d+\)/,
      );
    } finally {
      loop.setBlockingLogThreshold(null);
    }
  });

  test('the warning carries the duration and the stack', async () => {
    const loop = IOLoop.current();
    const reports: StallReport[] = [];
    const messages: string[] = [];
    const { addLogInterceptor } = await import('../src/log.ts');
    const remove = addLogInterceptor((record) => {
      if (record.logger === 'app' && record.message.startsWith('Loop blocked')) {
        messages.push(record.message);
        return true;
      }
      return false;
    });
    try {
      loop.setBlockingLogThreshold(50, { onStall: (r) => reports.push(r) });
      const report = await blockUntilSampled(reports, 150);
      const message = messages.at(-1) ?? '';
      assert.ok(message.includes(`${report.durationMs.toFixed(1)} ms`), message);
      if (report.stack) assert.ok(message.includes(report.stack), message);
    } finally {
      remove();
      loop.setBlockingLogThreshold(null);
    }
  });

  test('stalls shorter than the threshold are not reported', async () => {
    const loop = IOLoop.current();
    const reports: StallReport[] = [];
    try {
      loop.setBlockingLogThreshold(400, { onStall: (r) => reports.push(r) });
      await sleep(200);
      for (let i = 0; i < 3; i++) {
        blockTheLoopOnPurpose(40);
        await sleep(30);
      }
      await sleep(150);
      assert.deepEqual(reports, []);
    } finally {
      loop.setBlockingLogThreshold(null);
    }
  });

  test('a stall inside native code is reported with a stack or a reason', async () => {
    const loop = IOLoop.current();
    const reports: StallReport[] = [];
    function hashPasswordOnTheLoop(): Buffer {
      // Sized to block a few hundred ms; measured, not assumed, below.
      return pbkdf2Sync('password', 'salt', 2_000_000, 32, 'sha256');
    }
    try {
      await expectLog(appLog, /^Loop blocked for/, async () => {
        loop.setBlockingLogThreshold(50, { onStall: (r) => reports.push(r) });
        await sleep(300);
        const start = performance.now();
        hashPasswordOnTheLoop();
        const took = performance.now() - start;
        await sleep(60);
        assert.ok(took > 100, `the hash should block for >100 ms, took ${took}`);
        assert.ok(reports.length >= 1, 'no stall reported');
      });
      const report = reports.at(-1)!;
      assert.ok(report.durationMs >= 50);
      if (report.stack !== undefined)
        assert.match(report.stack, /hashPasswordOnTheLoop|pbkdf2Sync/);
      else assert.match(report.reason ?? '', /\w+/);
    } finally {
      loop.setBlockingLogThreshold(null);
    }
  });

  test('turning it off stops reporting; a throwing onStall is logged', async () => {
    const loop = IOLoop.current();
    const reports: StallReport[] = [];
    await expectLog(appLog, /^Exception in onStall callback/, () =>
      expectLog(appLog, /^Loop blocked/, async () => {
        loop.setBlockingLogThreshold(30, {
          onStall: (r) => {
            reports.push(r);
            throw new Error('onStall failed on purpose');
          },
        });
        await sleep(200);
        blockTheLoopOnPurpose(120);
        await sleep(60);
      }),
    );
    assert.ok(reports.length >= 1);
    loop.setBlockingLogThreshold(0);
    const count = reports.length;
    blockTheLoopOnPurpose(120);
    await sleep(60);
    assert.equal(reports.length, count);
  });

  test('a threshold must be a positive number', () => {
    const loop = IOLoop.current();
    assert.throws(() => loop.setBlockingLogThreshold(-5), RangeError);
    assert.throws(() => loop.setBlockingLogThreshold(Number.NaN), RangeError);
  });

  test('an active watchdog does not keep the process alive', async () => {
    const script = `
      import { IOLoop } from ${JSON.stringify(new URL('../src/ioloop.ts', import.meta.url).href)};
      IOLoop.current().setBlockingLogThreshold(50);
      console.log('started');
    `;
    const started = performance.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        { timeout: 10_000, cwd: fileURLToPath(new URL('..', import.meta.url)) },
        (error, out) => (error ? reject(error) : resolve(out)),
      );
    });
    assert.equal(stdout.trim(), 'started');
    assert.ok(performance.now() - started < 10_000);
  });
});

describe('startBlockingWatchdog (layer 0)', () => {
  test('calls back with the report and stops cleanly', async () => {
    const reports: StallReport[] = [];
    const watchdog = startBlockingWatchdog(40, (r) => reports.push(r));
    try {
      const report = await blockUntilSampled(reports, 150);
      assert.ok(report.durationMs >= 80);
      assert.match(report.stack ?? String(report.reason), /blockTheLoopOnPurpose/);
    } finally {
      watchdog.stop();
      watchdog.stop();
    }
  });
});

describe('IOLoop.loopLag', () => {
  test('starts at zero, stays low while idle and shows a blocked loop', async () => {
    const loop = IOLoop.current();
    loop.loopLag({ reset: true });
    const fresh = loop.loopLag();
    for (const value of Object.values(fresh)) assert.ok(value >= 0 && Number.isFinite(value));
    await sleep(150);
    const idle = loop.loopLag({ reset: true });
    assert.ok(idle.p50 < 8, `idle p50 ${idle.p50}`);
    // Let one sampling tick pass after the reset: the first one only sets the histogram's start.
    await sleep(25);
    blockTheLoopOnPurpose(150);
    await sleep(50);
    const lag = loop.loopLag();
    assert.ok(lag.max >= 100, `max ${lag.max}`);
    assert.ok(lag.max < 2000, `max ${lag.max}`);
    assert.ok(lag.p99 >= lag.p50);
    assert.ok(lag.mean > idle.mean);
    loop.close();
  });
});
