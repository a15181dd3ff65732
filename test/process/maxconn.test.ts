// maxConnections in a real forkProcesses fleet (test/fixtures/process/maxconn-server.ts): each
// child holds at most its cap, a connection past the caps is closed at once rather than held
// or handed around, the fleet serves again once clients leave, and the refusals are counted
// in a rate-limited warning whose counts add up, a stopping child's last refusals included.
// Run on a fixed port (each child binds it with SO_REUSEPORT) and on port 0 (cluster's
// round-robin handle, where node would hand an excess connection to another child unless the
// child drops it itself). Everything started is killed by PID afterwards.
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { startTestServer } from '../../src/testing.ts';
import { sleep } from '../../src/gen.ts';
import { addLogInterceptor } from '../../src/log.ts';
import {
  eventually,
  freePort,
  get,
  killAll,
  run,
  type Running,
} from '../fixtures/process/running.ts';

const script = fileURLToPath(new URL('../fixtures/process/maxconn-server.ts', import.meta.url));
const CAP = 3;
const CHILDREN = 2;
// Generous: a loaded 2-core machine. A connection node refuses is closed within milliseconds;
// one the fleet neither serves nor closes stays open until this runs out.
const ANSWER_TIMEOUT_MS = 8_000;
const REFUSED_WITHIN_MS = 5_000;

afterEach(killAll);
after(killAll);

/** What became of one client connection that sent `GET /state` and kept the socket open. */
type Outcome =
  | { kind: 'served'; socket: net.Socket; id: number; pid: number; live: number }
  | { kind: 'refused'; ms: number }
  | { kind: 'hung' };

/** Connect, ask `/state` on a keep-alive connection, and hold it open if answered. */
function attempt(port: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish({ kind: 'hung' });
    }, ANSWER_TIMEOUT_MS);
    socket.setEncoding('utf8');
    // A refused connection may be reset (the request was unread); that is a close too.
    socket.on('error', () => {});
    socket.on('connect', () => {
      socket.write('GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    });
    socket.on('data', (chunk: string) => {
      text += chunk;
      const m = /^HTTP\/1\.1 200 [^]*?\r\n\r\n(\d+) (\d+) (\d+)$/.exec(text);
      if (m !== null) {
        finish({ kind: 'served', socket, id: Number(m[1]), pid: Number(m[2]), live: Number(m[3]) });
      }
    });
    socket.on('close', () => {
      finish({ kind: 'refused', ms: performance.now() - started });
    });
  });
}

/** The `Refused N connection(s) over maxConnections=CAP` counts each child logged, by task id. */
function refusalLines(stderr: string): Map<number, number[]> {
  const lines = new Map<number, number[]>();
  const pattern = new RegExp(
    `^task (\\d+): \\[W [^\\]]* gen\\] Refused (\\d+) connections? over maxConnections=${CAP}$`,
    'gm',
  );
  for (const m of stderr.matchAll(pattern)) {
    const id = Number(m[1]);
    lines.set(id, [...(lines.get(id) ?? []), Number(m[2])]);
  }
  return lines;
}

async function startFleet(
  portArg: number,
): Promise<{ server: Running; port: number; pids: Map<number, number> }> {
  const server = run(script, [String(CHILDREN), String(portArg), String(CAP)]);
  const pids = new Map<number, number>();
  let port = portArg;
  for (let id = 0; id < CHILDREN; id++) {
    const listening = await server.waitFor(new RegExp(`^listening ${id} (\\d+)$`, 'm'), 30_000);
    pids.set(id, Number(listening[1]));
    const bound = Number((await server.waitFor(new RegExp(`^port ${id} (\\d+)$`, 'm')))[1]);
    if (portArg !== 0) assert.equal(bound, portArg);
    else if (id > 0) assert.equal(bound, port, 'with port 0 every child shares the port drawn');
    port = bound;
  }
  return { server, port, pids };
}

/**
 * The scenario, the same for either way the children share the port: fill every child to
 * its cap with held keep-alive connections, then push more, then let go and serve again.
 */
async function fillAndOverflow(portArg: number): Promise<void> {
  const started = performance.now();
  const { server, port, pids } = await startFleet(portArg);
  const held = new Map<number, net.Socket[]>();
  const refusedMs: number[] = [];
  const served: Array<Extract<Outcome, { kind: 'served' }>> = [];
  const record = (outcome: Outcome): void => {
    if (outcome.kind === 'hung') {
      assert.fail(`a connection was neither served nor closed in ${ANSWER_TIMEOUT_MS} ms`);
    }
    if (outcome.kind === 'refused') {
      refusedMs.push(outcome.ms);
      return;
    }
    served.push(outcome);
    held.set(outcome.id, [...(held.get(outcome.id) ?? []), outcome.socket]);
  };
  const full = (): boolean => [...pids.keys()].every((id) => (held.get(id)?.length ?? 0) >= CAP);
  try {
    // One at a time until every child holds its cap; with SO_REUSEPORT the kernel picks the
    // child by the connection's address, so a full one may be picked while the other has room.
    for (let i = 0; i < 200 && !full(); i++) record(await attempt(port));
    assert.ok(
      full(),
      `children not filled: ${JSON.stringify([...held].map(([id, s]) => [id, s.length]))}`,
    );

    // Past every child's cap: each new connection is closed at once, none waits.
    const burst = 12;
    const before = refusedMs.length;
    const extra = await Promise.all(Array.from({ length: burst }, () => attempt(port)));
    for (const outcome of extra) {
      assert.notEqual(outcome.kind, 'served', 'a connection past both caps was served');
      record(outcome);
    }
    assert.equal(refusedMs.length - before, burst);
    for (const ms of refusedMs)
      assert.ok(ms < REFUSED_WITHIN_MS, `a refusal took ${Math.round(ms)} ms`);

    // No child ever held more than its cap, by its own count and by ours.
    for (const [id, sockets] of held) {
      assert.equal(sockets.length, CAP, `child ${id} holds ${sockets.length}`);
    }
    for (const s of served) {
      assert.equal(s.pid, pids.get(s.id), `task ${s.id} answered from its own process`);
      assert.ok(s.live >= 1 && s.live <= CAP, `child ${s.id} reported ${s.live} live connections`);
    }
    for (const id of pids.keys()) {
      assert.equal(Math.max(...served.filter((s) => s.id === id).map((s) => s.live)), CAP);
    }
    // The held connections are still served (keep-alive, nothing was closed under them).
    for (const socket of [...held.values()].flat()) assert.equal(socket.destroyed, false);

    // A child that refused said so at once, and not once per connection: one line, and one
    // more per 10 s interval that ended since the fleet started.
    await eventually(async () => (refusalLines(server.stderr).size > 0 ? true : undefined), 10_000);
    const intervals = Math.floor((performance.now() - started) / 10_000);
    for (const [id, counts] of refusalLines(server.stderr)) {
      assert.ok(pids.has(id), `a refusal line from task ${id}`);
      assert.ok(counts.length <= 1 + intervals, `task ${id} logged ${counts.length} lines`);
    }

    // Clients leave: the fleet serves new connections again, on every child.
    for (const socket of [...held.values()].flat()) socket.destroy();
    held.clear();
    const seen = new Set<number>();
    // A child may learn that the held sockets closed after a new connection reached it: that
    // connection is refused too (and logged), and counted here.
    let refusedWhileLeaving = 0;
    await eventually(
      async () => {
        const { status, body } = await get(port, '/state', 5_000).catch((error: unknown) => {
          if ((error as { code?: string }).code === 'ECONNRESET') refusedWhileLeaving++;
          throw error;
        });
        assert.equal(status, 200);
        seen.add(Number(body.split(' ')[0]));
        return seen.size === CHILDREN ? true : undefined;
      },
      30_000,
      20,
    );

    // A stopping child reports what it refused since its last line, so the children's lines
    // add up to every connection the clients saw refused, with no wait for the interval.
    server.proc.kill('SIGTERM');
    const exited = await server.exited;
    assert.deepEqual(exited, { code: 0, signal: null }, server.stderr);
    for (const id of pids.keys()) assert.match(server.stdout, new RegExp(`^drained ${id}$`, 'm'));
    const logged = [...refusalLines(server.stderr).values()].flat().reduce((a, b) => a + b, 0);
    assert.equal(
      logged,
      refusedMs.length + refusedWhileLeaving,
      `refused ${refusedMs.length} + ${refusedWhileLeaving} while leaving, logged:\n${server.stderr}`,
    );
  } finally {
    for (const socket of [...held.values()].flat()) socket.destroy();
  }
}

test('a fleet on a fixed port (SO_REUSEPORT): each child holds at most its cap, the excess is closed at once and logged, and the fleet serves again', async () => {
  await fillAndOverflow(await freePort());
});

test('a fleet on port 0 (cluster round-robin): a child at its cap drops the connection instead of handing it on, so nothing hangs', async () => {
  await fillAndOverflow(0);
});

// --- the refusal warning, in one process --------------------------------------------------------

class Ok extends RequestHandler {
  override get(): void {
    this.write('ok');
  }
}

/** Open `n` connections at once and wait until the server has closed every one of them. */
async function refusedBurst(port: number, n: number): Promise<void> {
  const sockets = Array.from({ length: n }, () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    return new Promise<void>((resolve) => socket.once('close', () => resolve()));
  });
  await Promise.all(sockets);
}

/** Connect and wait until the server has accepted the connection (it answers a request). */
async function holdOne(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.once('data', () => resolve());
  });
  return socket;
}

/**
 * Claim the server's refusal warnings from now on; the returned list fills as they come.
 * Call the returned function to stop.
 */
function watchRefusals(): [string[], () => void] {
  const messages: string[] = [];
  const remove = addLogInterceptor((record) => {
    if (record.logger !== 'gen' || !record.message.startsWith('Refused ')) return false;
    messages.push(record.message);
    return true;
  });
  return [messages, remove];
}

test('a burst of refusals gives one warning at once, and the rest in one line after the interval', async () => {
  const srv = await startTestServer(new Application([['/', Ok]]), { maxConnections: 1 });
  const [lines, unwatch] = watchRefusals();
  const held = await holdOne(srv.port);
  try {
    await refusedBurst(srv.port, 30);
    await sleep(200);
    assert.deepEqual(lines, ['Refused 1 connection over maxConnections=1']);
    // The next line comes when the 10 s interval is up, with the count of the rest.
    await eventually(async () => (lines.length > 1 ? true : undefined), 20_000, 100);
    assert.deepEqual(lines, [
      'Refused 1 connection over maxConnections=1',
      'Refused 29 connections over maxConnections=1',
    ]);
    held.destroy();
    await srv.close();
    assert.equal(lines.length, 2, 'nothing more on stop: every refusal was reported');
  } finally {
    unwatch();
    held.destroy();
    await srv.close();
  }
});

test('stopping the server reports the refusals its interval had not yet reported', async () => {
  const srv = await startTestServer(new Application([['/', Ok]]), { maxConnections: 1 });
  const [lines, unwatch] = watchRefusals();
  const held = await holdOne(srv.port);
  try {
    await refusedBurst(srv.port, 25);
    await sleep(200);
    assert.deepEqual(lines, ['Refused 1 connection over maxConnections=1']);
    held.destroy();
    await srv.close();
    assert.deepEqual(lines, [
      'Refused 1 connection over maxConnections=1',
      'Refused 24 connections over maxConnections=1',
    ]);
  } finally {
    unwatch();
    held.destroy();
    await srv.close();
  }
});
