// Subprocess with real programs: cat through IOStreams, exit statuses, a signal, a program that
// does not exist. Every child is killed by PID at the end if a test left it running.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Subprocess } from '../../src/process/index.ts';
import { CalledProcessError, TyphoonError } from '../../src/errors.ts';
import { appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { killAll, track } from '../fixtures/process/running.ts';

after(killAll);

function started(proc: Subprocess): Subprocess {
  if (proc.pid !== undefined) track(proc.pid);
  return proc;
}

test('cat: write to its stdin stream, read Buffers back from its stdout stream', async () => {
  const proc = started(
    new Subprocess(['cat'], { stdin: Subprocess.STREAM, stdout: Subprocess.STREAM }),
  );
  assert.equal(typeof proc.pid, 'number');
  assert.equal(proc.stderr, null, 'a stream not asked for is null');
  await proc.stdin!.write('hello\nworld\n');
  const line = await proc.stdout!.readUntil('\n');
  assert.ok(Buffer.isBuffer(line));
  assert.equal(line.toString(), 'hello\n');
  proc.stdin!.close();
  const rest = await proc.stdout!.readUntilClose();
  assert.ok(Buffer.isBuffer(rest));
  assert.equal(rest.toString(), 'world\n');
  assert.equal(await proc.waitForExit(), 0);
  assert.equal(proc.returncode, 0);
});

test('Subprocess.STREAM is a static sentinel; streams default to inherit', () => {
  assert.equal(typeof Subprocess.STREAM, 'symbol');
  const proc = started(new Subprocess(['true']));
  assert.equal(proc.stdin, null);
  assert.equal(proc.stdout, null);
  assert.equal(proc.stderr, null);
  return proc.waitForExit().then((code) => assert.equal(code, 0));
});

test('argv runs without a shell', async () => {
  const proc = started(
    new Subprocess(['echo', '$HOME', '*', ';', 'exit 3'], { stdout: Subprocess.STREAM }),
  );
  const out = await proc.stdout!.readUntilClose();
  assert.equal(out.toString(), '$HOME * ; exit 3\n');
  assert.equal(await proc.waitForExit(), 0);
});

test("sh -c 'exit 3': CalledProcessError with returncode 3; raiseError: false gives 3", async () => {
  const proc = started(new Subprocess(['sh', '-c', 'exit 3']));
  await assert.rejects(proc.waitForExit(), (error: unknown) => {
    assert.ok(error instanceof CalledProcessError);
    assert.ok(error instanceof TyphoonError);
    assert.equal(error.returncode, 3);
    assert.deepEqual(error.cmd, ['sh', '-c', 'exit 3']);
    assert.equal(error.errorCode, 'TYPHOON_CALLED_PROCESS');
    return true;
  });
  assert.equal(await proc.waitForExit({ raiseError: false }), 3);
});

test('a sleep killed by SIGKILL reports -9', async () => {
  const proc = started(new Subprocess(['sleep', '10']));
  const codes: number[] = [];
  proc.setExitCallback((code) => codes.push(code));
  const waiting = proc.waitForExit({ raiseError: false });
  proc.proc.kill('SIGKILL');
  assert.equal(await waiting, -9);
  assert.deepEqual(codes, [-9]);
  await assert.rejects(proc.waitForExit(), (e: unknown) => {
    return e instanceof CalledProcessError && e.returncode === -9;
  });
});

test('setExitCallback after the exit still runs; a throwing callback is logged', async () => {
  const proc = started(new Subprocess(['sh', '-c', 'exit 5']));
  await proc.waitForExit({ raiseError: false });
  const code = await new Promise<number>((resolve) => proc.setExitCallback(resolve));
  assert.equal(code, 5);
  await expectLog(appLog, /Exception in Subprocess exit callback/, async () => {
    const failing = started(new Subprocess(['true']));
    failing.setExitCallback(() => {
      throw new Error('boom');
    });
    await failing.waitForExit();
    await new Promise((resolve) => setImmediate(resolve));
  });
});

test('cwd and env are passed to the child', async () => {
  const proc = started(
    new Subprocess(['sh', '-c', 'pwd; echo "$GREETING"'], {
      stdout: Subprocess.STREAM,
      cwd: '/tmp',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hi there' },
    }),
  );
  const out = (await proc.stdout!.readUntilClose()).toString();
  assert.equal(out, '/tmp\nhi there\n');
  await proc.waitForExit();
});

test('stderr as a stream; ignore discards', async () => {
  const proc = started(
    new Subprocess(['sh', '-c', 'echo out; echo err >&2'], {
      stdout: 'ignore',
      stderr: Subprocess.STREAM,
    }),
  );
  assert.equal(proc.stdout, null);
  assert.equal((await proc.stderr!.readUntilClose()).toString(), 'err\n');
  await proc.waitForExit();
});

test('a missing program rejects waitForExit with ENOENT, never hangs', async () => {
  const missing = '/nonexistent/typhoon-no-such-program';
  assert.equal(existsSync(missing), false);
  const proc = new Subprocess([missing], { stdout: Subprocess.STREAM });
  assert.equal(proc.pid, undefined);
  await assert.rejects(proc.waitForExit(), (error: unknown) => {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  });
  // Its streams are closed, so a read fails instead of waiting forever.
  await assert.rejects(proc.stdout!.readUntil('\n'));
  // A later wait fails the same way.
  await assert.rejects(proc.waitForExit({ raiseError: false }), { code: 'ENOENT' });
});

test('a missing program nobody waits for is logged', async () => {
  await expectLog(appLog, /could not start/, async () => {
    const proc = new Subprocess(['/nonexistent/typhoon-no-such-program']);
    proc.setExitCallback(() => assert.fail('no exit callback for a program that never ran'));
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
});

test('an empty argv or a bad stdio option is a TypeError', () => {
  assert.throws(() => new Subprocess([]), TypeError);
  assert.throws(() => new Subprocess(['']), TypeError);
  assert.throws(
    () => new Subprocess(['true'], { stdout: 'pipe' as unknown as 'inherit' }),
    TypeError,
  );
});
