/**
 * Held long-poll connections — the workload typhoon exists for ("real-time web features
 * require a long-lived, mostly idle connection per user"): server memory per held connection
 * on typhoon vs raw node:http vs Python Tornado 6, and the "come and go" check that no request
 * is lost or left hanging.
 *
 * One sample, per server, in a fresh server process:
 * 1. warm up with a small crowd (JIT, lazy allocations), full GC, read the server's RSS;
 * 2. open N long-poll connections (N = 10 000; 200 in smoke mode) and wait until the server
 *    reports N waiters; full GC, read RSS again: (RSS − base) / N is the sample;
 * 3. half the clients go away abruptly; the server must drop exactly their waiters;
 *    a publish then answers the other half: every one must get its `200`, none may hang, and
 *    the server must end with zero waiters. Any miss fails the benchmark.
 *
 * RSS is read from /proc/PID/status, the same way for every server.
 */
import { median, type Bench, type BenchFactory } from './harness.ts';
import { LongPollCrowd, waitFor, type CrowdOutcome } from './longpoll-clients.ts';
import { startPeer, tornadoPython, type Peer, type PeerKind } from './peers/spawn.ts';

const FD_LIMIT_NOTE =
  '> 50 000 held connections are not measured: a process may hold at most 20 000 file ' +
  'descriptors on this machine (hard limit), so one server process tops out near 19 990 ' +
  'sockets, and 50 000 would need several server processes as well as several client ' +
  'processes — not a per-server comparison any more.\n';

async function stats(peer: Peer): Promise<{ waiters: number }> {
  const response = await fetch(peer.url('/stats'));
  return (await response.json()) as { waiters: number };
}

async function post(peer: Peer, path: string): Promise<string> {
  const response = await fetch(peer.url(path), { method: 'POST', body: '' });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${peer.kind} ${path}: ${response.status} ${text}`);
  return text;
}

async function settledRss(peer: Peer): Promise<number> {
  await post(peer, '/gc');
  await new Promise((resolve) => setTimeout(resolve, 300));
  return peer.rssBytes();
}

/** Run one come-and-go cycle with `count` clients; throws if any request is lost or hangs. */
async function comeAndGo(
  peer: Peer,
  count: number,
  onHeld?: () => Promise<void>,
): Promise<{ outcome: CrowdOutcome; gone: number }> {
  const crowd = await LongPollCrowd.open({ port: peer.port, path: '/poll', count });
  try {
    await waitFor(
      async () => (await stats(peer)).waiters === count,
      `${count} waiters on ${peer.kind}`,
      60_000,
    );
    if (crowd.finishedEarly > 0)
      throw new Error(`${peer.kind}: ${crowd.finishedEarly} polls ended early`);
    await onHeld?.();
    const gone = crowd.dropHalf();
    await waitFor(
      async () => (await stats(peer)).waiters === count - gone,
      `${peer.kind} to drop the waiters of ${gone} departed clients`,
      30_000,
    );
    const published = JSON.parse(await post(peer, '/publish')) as { released: number };
    const outcome = await crowd.settle({ timeoutMs: 30_000, expect: /published/ });
    const left = (await stats(peer)).waiters;
    if (
      published.released !== count - gone ||
      outcome.answered !== count - gone ||
      outcome.failed > 0 ||
      outcome.hanging > 0 ||
      left !== 0
    ) {
      throw new Error(
        `${peer.kind}: requests lost or hanging: released ${published.released}, ` +
          `${JSON.stringify(outcome)}, waiters left ${left}`,
      );
    }
    return { outcome, gone };
  } finally {
    crowd.destroy();
  }
}

const factory: BenchFactory = ({ smoke }) => {
  const count = smoke ? 200 : 10_000;
  let kinds: PeerKind[] = ['typhoon', 'node:http'];
  if (tornadoPython() !== null) kinds.push('tornado');
  else console.log('> Python Tornado 6 not found (python3-tornado): tornado column skipped.\n');
  // BENCH_PEERS=node:http,tornado narrows the field (for debugging one server).
  const only = process.env.BENCH_PEERS?.split(',');
  if (only) kinds = kinds.filter((kind) => only.includes(kind));
  console.log(FD_LIMIT_NOTE);
  console.log(
    `> N = ${count.toLocaleString('en-US')} held long-poll connections per sample, each server ` +
      'in a fresh process; memory = RSS delta after a full GC. The machine is shared.\n',
  );

  const samples = new Map<PeerKind, number[]>(kinds.map((kind) => [kind, []]));
  const bench: Bench = {
    name: `Long polling: server memory per held connection (N = ${count.toLocaleString('en-US')})`,
    unit: 'bytes/conn',
    higherIsBetter: false,
    baseline: 'node:http',
    target: 'typhoon ≤ 1.3x node:http',
    rounds: 3,
    teardown() {
      const typhoon = samples.get('typhoon') ?? [];
      const node = samples.get('node:http') ?? [];
      if (smoke || typhoon.length === 0 || node.length === 0) return;
      const ratio = median(typhoon) / median(node);
      console.log(
        `> memory target: typhoon/node:http ${ratio.toFixed(2)}x per held connection ` +
          `(want ≤ 1.3x: ${ratio <= 1.3 ? 'met' : 'NOT met'}); no request lost or left hanging ` +
          `in any sample (a miss fails the benchmark).\n`,
      );
    },
    contenders: kinds.map((kind) => ({
      name: kind,
      async measure() {
        const peer = await startPeer(kind);
        try {
          await comeAndGo(peer, Math.min(200, count));
          const base = await settledRss(peer);
          let held = 0;
          const started = Date.now();
          const { outcome, gone } = await comeAndGo(peer, count, async () => {
            held = await settledRss(peer);
          });
          console.log(
            `> ${kind}: ${count} clients came; ${gone} went away (their waiters dropped); ` +
              `${outcome.answered} of ${outcome.stayed} answered, ${outcome.failed} failed, ` +
              `${outcome.hanging} hanging, 0 waiters left — ${Date.now() - started} ms`,
          );
          const perConnection = (held - base) / count;
          samples.get(kind)!.push(perConnection);
          return perConnection;
        } finally {
          await peer.stop();
        }
      },
    })),
  };
  return [bench];
};

export default factory;
