// forkProcesses and taskId with real processes: a script (test/fixtures/process/fork-server.ts)
// forks children that answer HTTP with their task id; the tests crash, restart, exhaust and
// signal them, and kill everything they started by PID afterwards.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { forkProcesses, taskId } from '../../src/process/index.ts';
import { ForkProcessesError, TyphoonError } from '../../src/errors.ts';
import { alive, eventually, freePort, get, killAll, run } from '../fixtures/process/running.ts';

const script = fileURLToPath(new URL('../fixtures/process/fork-server.ts', import.meta.url));

afterEach(killAll);
after(killAll);

async function pidsOf(text: string, word: 'child' | 'listening'): Promise<Map<number, number>> {
  const ids = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${word} (\\d+) (\\d+)$`, 'gm'))) {
    ids.set(Number(m[1]), Number(m[2]));
  }
  return ids;
}

async function waitGone(pids: Iterable<number>, timeoutMs = 10_000): Promise<void> {
  for (const pid of pids) {
    await eventually(async () => (alive(pid) ? undefined : true), timeoutMs);
  }
}

test('taskId() is null in a process that never forked', () => {
  assert.equal(taskId(), null);
});

test('a negative or non-integer count, or a bad maxRestarts, is a ForkProcessesError', () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => forkProcesses(bad),
      (error: unknown) => error instanceof ForkProcessesError && error instanceof TyphoonError,
      String(bad),
    );
  }
  assert.throws(() => forkProcesses(1, { maxRestarts: -1 }), ForkProcessesError);
  assert.throws(() => forkProcesses(1, { maxRestarts: 0.5 }), ForkProcessesError);
});

test('three children answer with their task ids; a second call is refused', async () => {
  const port = await freePort();
  const server = run(script, ['3', String(port)]);
  for (const id of [0, 1, 2]) await server.waitFor(new RegExp(`^listening ${id} `, 'm'));
  assert.match(server.stdout, /^primary \d+ taskId=null$/m);
  assert.match(server.stdout, /^primary second call: ForkProcessesError$/m);
  for (const id of [0, 1, 2]) {
    assert.match(server.stdout, new RegExp(`^child ${id} second call: ForkProcessesError$`, 'm'));
  }
  const listening = await pidsOf(server.stdout, 'listening');
  const seen = new Map<number, number>();
  // Each request on a new connection; the shared port spreads them over the children.
  for (let i = 0; i < 60 && seen.size < 3; i++) {
    const { status, body } = await get(port, '/id');
    assert.equal(status, 200);
    const [id, pid] = body.split(' ').map(Number) as [number, number];
    assert.equal(listening.get(id), pid, `task ${id} answered from its own process`);
    seen.set(id, pid);
  }
  assert.deepEqual([...seen.keys()].sort(), [0, 1, 2]);
  const primary = server.proc.pid!;
  assert.notEqual(seen.get(0), primary);
});

test('a child that exits 1 is started again with the same task id, quickly', async () => {
  const port = await freePort();
  const server = run(script, ['2', String(port)]);
  await server.waitFor(/^listening 0 /m);
  await server.waitFor(/^listening 1 /m);
  const before = await pidsOf(server.stdout, 'listening');
  const { body } = await get(port, '/exit?code=1');
  const [, idText] = /^exiting (\d+)$/.exec(body)!;
  const id = Number(idText);
  const crashed = Date.now();
  const match = await server.waitFor(
    new RegExp(`^listening ${id} (?!${before.get(id)}$)(\\d+)$`, 'm'),
  );
  const restartMs = Date.now() - crashed;
  const newPid = Number(match[1]);
  assert.notEqual(newPid, before.get(id));
  assert.match(
    server.stderr,
    new RegExp(`child ${id} \\(pid ${before.get(id)}\\) exited with status 1, restarting`),
  );
  // The restarted child serves with the same id.
  const answered = await eventually(
    async () => {
      const r = await get(port, '/id');
      return r.body === `${id} ${newPid}` ? r.body : undefined;
    },
    10_000,
    0,
  );
  assert.equal(answered, `${id} ${newPid}`);
  // Target < 1 s; on a shared, loaded 2-core machine allow more, and report what it was.
  console.log(`# restart of a crashed child took ${restartMs} ms (to its "listening" line)`);
  assert.ok(restartMs < 5_000, `restart took ${restartMs} ms`);
  // A child that exits 0 is not restarted; the primary exits 0 when none is left.
  let gone = false;
  void server.exited.then(() => (gone = true));
  await eventually(
    async () => {
      if (gone) return true;
      await get(port, '/exit?code=0', 2_000).catch(() => undefined);
      return gone ? true : undefined;
    },
    15_000,
    50,
  );
  const exited = await server.exited;
  assert.deepEqual(exited, { code: 0, signal: null });
  assert.match(server.stderr, /exited successfully/);
});

test('past maxRestarts the primary gives up, stops the others and exits non-zero', async () => {
  const port = await freePort();
  // Child 0 crashes at every start; child 1 is healthy and must not outlive the primary.
  const server = run(script, ['2', String(port), '1', '0']);
  const exited = await server.exited;
  assert.equal(exited.code, 1);
  assert.match(server.stderr, /too many child restarts \(more than maxRestarts = 1\), giving up/);
  const children = [...server.stdout.matchAll(/^child \d+ (\d+)$/gm)].map((m) => Number(m[1]));
  // 2 starts of child 0 (1 restart allowed, the second death gives up).
  assert.ok(
    [...server.stdout.matchAll(/^child 0 /gm)].length === 2,
    `child 0 started ${[...server.stdout.matchAll(/^child 0 /gm)].length} times\n${server.stdout}`,
  );
  await waitGone(children, 10_000);
  for (const pid of children) assert.equal(alive(pid), false, `child ${pid} left running`);
});

/**
 * Start a 2-child fleet, send `signal` to the primary while a slow request is in flight, and
 * check the request completes, both children drain, the primary exits 0 and nothing restarts.
 */
async function shutdownWith(
  signal: 'SIGTERM' | 'SIGINT',
): Promise<{ stdout: string; stderr: string }> {
  const port = await freePort();
  const server = run(script, ['2', String(port)]);
  await server.waitFor(/^listening 0 /m);
  await server.waitFor(/^listening 1 /m);
  const children = [...(await pidsOf(server.stdout, 'listening')).values()];
  const slow = get(port, '/slow?ms=1500');
  // Let the request reach a child before the signal.
  await new Promise((resolve) => setTimeout(resolve, 400));
  server.proc.kill(signal);
  const { status, body } = await slow;
  assert.equal(status, 200);
  assert.match(body, /^slow done \d$/);
  const exited = await server.exited;
  assert.deepEqual(exited, { code: 0, signal: null });
  for (const id of [0, 1]) {
    // Each child got the primary's own signal, and drained.
    assert.match(server.stdout, new RegExp(`^signal ${id} ${signal}$`, 'm'));
    assert.match(server.stdout, new RegExp(`^drained ${id}$`, 'm'));
  }
  await waitGone(children, 5_000);
  // Nothing was restarted after the signal.
  assert.equal([...server.stdout.matchAll(/^child \d+ \d+$/gm)].length, 2);
  return { stdout: server.stdout, stderr: server.stderr };
}

test('SIGTERM to the primary: a slow request in flight completes, everything exits 0', async () => {
  await shutdownWith('SIGTERM');
});

test('after SIGTERM a child that exits 1 is not restarted, and the primary still exits 0', async () => {
  const port = await freePort();
  const server = run(script, ['2', String(port)]);
  await server.waitFor(/^listening 0 /m);
  await server.waitFor(/^listening 1 /m);
  const children = [...(await pidsOf(server.stdout, 'listening')).values()];
  // One child (whichever the kernel hands the connection) will fail its own shutdown.
  const { body } = await get(port, '/stop-code?code=1');
  const [, failing] = /^stop code (\d) 1$/.exec(body)!;
  server.proc.kill('SIGTERM');
  // The contract: after the signal nothing is restarted, and the primary exits 0 once every
  // child is gone, whatever status the children exited with.
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    server.exited,
    new Promise((resolve) => (timer = setTimeout(resolve, 10_000, 'still running after 10 s'))),
  ]).finally(() => clearTimeout(timer));
  assert.deepEqual(exited, { code: 0, signal: null }, `${server.stdout}\n${server.stderr}`);
  assert.match(server.stdout, new RegExp(`^drained ${failing}$`, 'm'));
  assert.equal([...server.stdout.matchAll(/^child \d+ \d+$/gm)].length, 2, server.stdout);
  assert.doesNotMatch(server.stderr, /restarting/);
  await waitGone(children, 5_000);
});

test('SIGINT to the primary is forwarded as SIGINT and shuts down like SIGTERM', async () => {
  const { stderr } = await shutdownWith('SIGINT');
  assert.match(stderr, /SIGINT received: stopping 2 children/);
});
