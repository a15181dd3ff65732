// One contract suite for every broker engine: what MemoryBroker and RedisBroker promise alike
// (DESIGN.md "Layer 3 — broker" and "Details the tests rely on — broker"). Each engine's test
// file calls `brokerContract` with a factory; the Redis one gives each broker of a test the
// same fresh key prefix, so tests never see each other's channels.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Broker, BrokerOptions, Publication, StreamPosition } from '../../src/broker/index.ts';
import { formatPosition, parsePosition, position } from '../../src/broker/index.ts';
import {
  BrokerClosedError,
  BrokerMessageTooLargeError,
  BrokerRecoveryError,
  TyphoonError,
} from '../../src/errors.ts';
import { appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { kPushResume, kPushTo, type PushSink } from '../../src/internal/symbols.ts';

export interface BrokerContract {
  /** Engine name, for test titles. */
  name: string;
  /** A new broker; brokers made within one test share their engine's storage. */
  make: (options?: BrokerOptions) => Broker;
  /** Called before each test (e.g. to pick a fresh key prefix). */
  fresh?: () => void;
  /** Whether the suite can run here; a string is the reason to skip. */
  skip?: () => string | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

/** Collect `n` publications from a stream (or fail after `ms`). */
async function take(
  iterator: AsyncIterator<Publication>,
  n: number,
  ms = 5000,
): Promise<Publication[]> {
  const out: Publication[] = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`only ${out.length} of ${n} publications arrived`);
    let timer: NodeJS.Timeout | undefined;
    const step = await Promise.race([
      iterator.next(),
      new Promise<{ timeout: true }>((resolve) => {
        timer = setTimeout(() => resolve({ timeout: true }), left);
      }),
    ]);
    clearTimeout(timer);
    if ('timeout' in step) throw new Error(`only ${out.length} of ${n} publications arrived`);
    if (step.done === true) throw new Error(`stream ended after ${out.length} of ${n}`);
    out.push(step.value);
  }
  return out;
}

/**
 * Read `stream` in push mode, as `EventSourceHandler.relay` does: every publication lands in
 * `got`; `pauseAfter` makes the sink refuse more after that many until `resume()`.
 */
function pushInto(
  stream: AsyncIterator<Publication>,
  pauseAfter = Infinity,
): { got: Publication[]; ended: Promise<unknown>; resume(): void } {
  const got: Publication[] = [];
  let endWith!: (error: unknown) => void;
  const ended = new Promise<unknown>((resolve) => (endWith = resolve));
  let limit = pauseAfter;
  const sink: PushSink<Publication> = {
    push(p) {
      got.push(p);
      return got.length < limit;
    },
    end(error) {
      endWith(error ?? 'ended');
    },
  };
  const pushable = stream as AsyncIterator<Publication> & {
    [kPushTo](sink: PushSink<Publication>): void;
    [kPushResume](): void;
  };
  pushable[kPushTo](sink);
  return {
    got,
    ended,
    resume() {
      limit = Infinity;
      pushable[kPushResume]();
    },
  };
}

const offsets = (pubs: readonly Publication[]): number[] => pubs.map((p) => p.offset);
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

export function brokerContract({ name, make, fresh, skip }: BrokerContract): void {
  describe(`${name} (broker contract)`, () => {
    const made: Broker[] = [];
    const broker = (options?: BrokerOptions): Broker => {
      const b = make(options);
      made.push(b);
      return b;
    };
    afterEach(async () => {
      await Promise.all(made.splice(0).map((b) => b.close()));
    });

    const it = (title: string, fn: () => Promise<void>, timeout = 20_000): void => {
      test(title, { timeout }, async (t) => {
        const reason = skip?.();
        if (reason !== undefined) {
          t.skip(reason);
          return;
        }
        fresh?.();
        await fn();
      });
    };

    it('publish numbers a channel 1, 2, 3 in one epoch and returns the publication', async () => {
      const b = broker();
      const before = Date.now();
      const p1 = await b.publish('c', { n: 1 });
      const p2 = await b.publish('c', 'two');
      const other = await b.publish('d', 3);
      assert.deepEqual([p1.offset, p2.offset, other.offset], [1, 2, 1]);
      assert.equal(p1.channel, 'c');
      assert.equal(p1.epoch, p2.epoch);
      assert.match(p1.epoch, /^[\x21-\x7e]+$/);
      assert.deepEqual(p1.data, { n: 1 });
      assert.ok(p1.time >= before - 1000 && p1.time <= Date.now() + 1000, `time ${p1.time}`);
    });

    it('data is serialized at publish time and delivered as its JSON round trip', async () => {
      const b = broker();
      const value: Record<string, unknown> = { a: [1, 2], d: new Date(0), n: NaN, u: undefined };
      const pending = b.publish('c', value);
      value['a'] = 'changed';
      (value as { extra?: number }).extra = 1;
      await pending;
      const { publications } = await b.history('c');
      assert.deepEqual(publications[0]?.data, {
        a: [1, 2],
        d: '1970-01-01T00:00:00.000Z',
        n: null,
      });
    });

    it('a value JSON cannot carry is a TypeError and uses no offset', async () => {
      const b = broker();
      const cyclic: Record<string, unknown> = {};
      cyclic['self'] = cyclic;
      for (const bad of [undefined, () => 1, Symbol('s'), 10n, cyclic]) {
        await assert.rejects(async () => b.publish('c', bad), TypeError);
      }
      assert.equal((await b.publish('c', null)).offset, 1);
    });

    it('maxMessageSize counts UTF-8 bytes of the JSON: the limit passes, one more does not', async () => {
      const b = broker({ maxMessageSize: 100 });
      // '"' + 49 × 'é' (2 bytes each) + '"' = 100 bytes, 51 UTF-16 units.
      const exact = 'é'.repeat(49);
      assert.equal(Buffer.byteLength(JSON.stringify(exact)), 100);
      await assert.rejects(
        async () => b.publish('c', exact + 'x'),
        (error: unknown) =>
          error instanceof BrokerMessageTooLargeError && error instanceof TyphoonError,
      );
      const p = await b.publish('c', exact);
      assert.equal(p.offset, 1, 'the refused publish used no offset');
      assert.equal(p.data, exact);
    });

    it('channel names: 1-255 printable ASCII without spaces, checked by every method', async () => {
      const b = broker();
      const bad: unknown[] = ['', 'a b', 'x'.repeat(256), 'é', 'tab\t', 'nl\n', '\x7f', 42, null];
      for (const channel of bad) {
        const c = channel as string;
        await assert.rejects(async () => b.publish(c, 1), TypeError, `publish ${String(c)}`);
        await assert.rejects(async () => b.history(c), TypeError);
        await assert.rejects(async () => {
          for await (const _ of b.stream(c)) break;
        }, TypeError);
        await assert.rejects(async () => b.waitFor(c, null, { timeout: 10 }), TypeError);
        await assert.rejects(async () => b.subscribe(c, () => {}).ready, TypeError);
      }
      assert.equal((await b.publish('x'.repeat(255), 1)).offset, 1);
      assert.equal((await b.publish('~!#$%&()*+,-./:;<=>?@[\\]^_`{|}', 1)).offset, 1);
    });

    it('names that look like keys or globs are separate channels', async () => {
      const b = broker();
      const names = ['c', 'c:epoch', '{c}', 'c*', 'c?', 'm:c', 's:c', 'c:s'];
      for (const channel of names) await b.publish(channel, channel);
      await b.publish('c', 'again');
      for (const channel of names) {
        const { publications, position: pos } = await b.history(channel);
        const expected = channel === 'c' ? ['c', 'again'] : [channel];
        assert.deepEqual(
          publications.map((p) => p.data),
          expected,
          channel,
        );
        assert.equal(pos.offset, expected.length);
      }
    });

    it('publications made without waiting get offsets in call order', async () => {
      const b = broker();
      const pending = range(1, 50).map((i) => b.publish('c', i));
      const pubs = await Promise.all(pending);
      assert.deepEqual(
        pubs.map((p) => [p.offset, p.data]),
        range(1, 50).map((i) => [i, i]),
      );
    });

    it('a never-published channel is at offset 0, and its first publication keeps that epoch', async () => {
      const b = broker();
      const empty = await b.history('fresh');
      assert.deepEqual(empty.publications, []);
      assert.equal(empty.position.offset, 0);
      assert.equal(empty.recovered, true);
      assert.match(empty.position.epoch, /^[\x21-\x7e]+$/);
      const again = await b.history('fresh', { limit: 0 });
      assert.deepEqual(again.position, empty.position);
      const p = await b.publish('fresh', 1);
      assert.deepEqual(position(p), { offset: 1, epoch: empty.position.epoch });
      const waited = await b.waitFor('fresh', empty.position, { timeout: 1000 });
      assert.deepEqual(offsets(waited), [1]);
    });

    it('history: whole kept history oldest first, since, limit, limit 0, recovered', async () => {
      const b = broker();
      for (const i of range(1, 6)) await b.publish('c', i);
      const all = await b.history('c');
      assert.deepEqual(offsets(all.publications), range(1, 6));
      assert.equal(all.recovered, true);
      const epoch = all.position.epoch;
      assert.deepEqual(all.position, { offset: 6, epoch });

      const since2 = await b.history('c', { since: { offset: 2, epoch } });
      assert.deepEqual(offsets(since2.publications), [3, 4, 5, 6]);
      assert.equal(since2.recovered, true);

      const limited = await b.history('c', { since: { offset: 2, epoch }, limit: 2 });
      assert.deepEqual(offsets(limited.publications), [3, 4]);
      assert.deepEqual(limited.position, { offset: 6, epoch });

      const zero = await b.history('c', { since: { offset: 2, epoch }, limit: 0 });
      assert.deepEqual(zero.publications, []);
      assert.deepEqual(zero.position, { offset: 6, epoch });
      assert.equal(zero.recovered, true);

      const latest = await b.history('c', { since: { offset: 6, epoch } });
      assert.deepEqual([latest.publications, latest.recovered], [[], true]);

      const otherEpoch = await b.history('c', { since: { offset: 2, epoch: epoch + 'x' } });
      assert.equal(otherEpoch.recovered, false);
      const ahead = await b.history('c', { since: { offset: 9, epoch } });
      assert.equal(ahead.recovered, false);
      assert.deepEqual(ahead.publications, []);

      await assert.rejects(async () => b.history('c', { limit: -1 }), TypeError);
      await assert.rejects(async () => b.history('c', { since: { offset: -1, epoch } }), TypeError);
    });

    it('historySize is exact: the oldest go, older positions are not recovered', async () => {
      const b = broker({ historySize: 5 });
      for (const i of range(1, 12)) await b.publish('c', i);
      const { publications, position: pos } = await b.history('c');
      assert.deepEqual(offsets(publications), range(8, 12));
      assert.equal(
        (await b.history('c', { since: { offset: 7, epoch: pos.epoch } })).recovered,
        true,
      );
      const old = await b.history('c', { since: { offset: 6, epoch: pos.epoch } });
      assert.equal(old.recovered, false);
      // Still what is kept after it, without holes (MemoryBroker once returned undefineds).
      assert.deepEqual(offsets(old.publications), range(8, 12));
      const older = await b.history('c', { since: { offset: 0, epoch: pos.epoch } });
      assert.deepEqual([older.recovered, offsets(older.publications)], [false, range(8, 12)]);
      await assert.rejects(
        async () => b.waitFor('c', { offset: 2, epoch: pos.epoch }),
        (error: unknown) =>
          error instanceof BrokerRecoveryError &&
          error.position.offset === 12 &&
          error.position.epoch === pos.epoch,
      );
    });

    it('after historyTtl the history is empty and offsets do not repeat within an epoch', async () => {
      const b = broker({ historyTtl: 150 });
      const p1 = await b.publish('c', 1);
      await b.publish('c', 2);
      await sleep(300);
      const after = await b.history('c');
      assert.deepEqual(after.publications, []);
      const old = await b.history('c', { since: position(p1) });
      assert.equal(old.recovered, false);
      const p3 = await b.publish('c', 3);
      assert.ok(
        p3.epoch !== p1.epoch || p3.offset > 2,
        `offset ${p3.offset} repeated in epoch ${p3.epoch}`,
      );
    });

    it('positions are plain {offset, epoch}; format and parse round-trip; malformed is TypeError', async () => {
      const b = broker();
      const p = await b.publish('c', 1);
      const pos = position(p);
      assert.deepEqual(Object.keys(pos).sort(), ['epoch', 'offset']);
      assert.equal(Object.getPrototypeOf(pos), Object.prototype);
      const text = formatPosition(pos);
      assert.equal(text, `1@${p.epoch}`);
      const back = parsePosition(text);
      assert.deepEqual(back, pos);
      assert.equal(Object.getPrototypeOf(back), Object.prototype);
      for (const bad of [
        '',
        '1',
        '@e',
        'a@e',
        '1@',
        '-1@e',
        '1.5@e',
        ' 1@e',
        '1@e f',
        '99999999999999999@e',
      ]) {
        assert.throws(() => parsePosition(bad), TypeError, bad);
      }
    });

    it('stream: history after since, then live, no gap and no duplicate', async () => {
      const b = broker();
      const pubs: Publication[] = [];
      for (const i of range(1, 3)) pubs.push(await b.publish('c', i));
      const stream = b.stream('c', { since: position(pubs[0] as Publication) });
      const first = await take(stream, 2);
      assert.deepEqual(offsets(first), [2, 3]);
      const publishing = Promise.all(range(4, 40).map((i) => b.publish('c', i)));
      const rest = await take(stream, 37);
      await publishing;
      assert.deepEqual(offsets(rest), range(4, 40));
      assert.deepEqual(
        rest.map((p) => p.data),
        range(4, 40),
      );
      await stream.return?.();
    });

    it('stream without since starts with the whole kept history', async () => {
      const b = broker({ historySize: 3 });
      for (const i of range(1, 5)) await b.publish('c', i);
      const stream = b.stream('c');
      assert.deepEqual(offsets(await take(stream, 3)), [3, 4, 5]);
      await b.publish('c', 6);
      assert.deepEqual(offsets(await take(stream, 1)), [6]);
      await stream.return?.();
    });

    it('stream from a position it cannot recover throws BrokerRecoveryError on the first step', async () => {
      const b = broker({ historySize: 2 });
      for (const i of range(1, 5)) await b.publish('c', i);
      const { position: latest } = await b.history('c', { limit: 0 });
      for (const since of [
        { offset: 1, epoch: latest.epoch },
        { offset: 9, epoch: latest.epoch },
        { offset: 1, epoch: 'another-epoch' },
      ]) {
        await assert.rejects(
          async () => {
            for await (const _ of b.stream('c', { since })) assert.fail('yielded');
          },
          (error: unknown) =>
            error instanceof BrokerRecoveryError &&
            error.position.offset === 5 &&
            error.position.epoch === latest.epoch,
        );
      }
    });

    it('signal ends a waiting stream and a wait promptly; an aborted signal delivers nothing', async () => {
      const b = broker();
      await b.publish('c', 1);
      const controller = new AbortController();
      const stream = b.stream('c', { signal: controller.signal });
      assert.deepEqual(offsets(await take(stream, 1)), [1]);
      const pending = stream.next();
      const wait = b.waitFor(
        'c',
        { offset: 1, epoch: (await b.history('c')).position.epoch },
        {
          signal: controller.signal,
        },
      );
      await sleep(50);
      const started = Date.now();
      controller.abort();
      const step = await pending.catch((error: unknown) => error);
      const waited = await wait.catch((error: unknown) => error);
      assert.ok(Date.now() - started < 2000);
      assert.ok(
        (typeof step === 'object' && step !== null && 'done' in step && step.done === true) ||
          (step instanceof Error && step.name === 'AbortError'),
      );
      assert.ok(
        (Array.isArray(waited) && waited.length === 0) ||
          (waited instanceof Error && waited.name === 'AbortError'),
      );

      const aborted = AbortSignal.abort();
      const got: Publication[] = [];
      try {
        for await (const p of b.stream('c', { signal: aborted })) got.push(p);
      } catch (error) {
        assert.equal((error as Error).name, 'AbortError');
      }
      assert.deepEqual(got, []);
      const none = await b.waitFor('c', null, { signal: aborted }).catch((error: unknown) => {
        assert.equal((error as Error).name, 'AbortError');
        return [];
      });
      assert.deepEqual(none, []);
    });

    it('a slow stream reader loses nothing: it is caught up from history', async () => {
      const b = broker({ historySize: 5000 });
      const start = await b.history('c', { limit: 0 });
      const stream = b.stream('c', { since: start.position });
      const first = stream.next();
      await sleep(100); // let the stream attach (a Redis subscription takes a round trip)
      const n = 3000;
      const pubs = await Promise.all(range(1, n).map((i) => b.publish('c', i)));
      assert.equal(pubs.at(-1)?.offset, n);
      await sleep(20);
      const head = await first;
      assert.equal(head.done, false);
      const rest = await take(stream, n - 1, 10_000);
      assert.deepEqual([head.value?.offset, ...offsets(rest)], range(1, n));
      await stream.return?.();
    });

    it('a reader that falls behind by more than the history gets BrokerRecoveryError, in order up to there', async () => {
      const b = broker({ historySize: 10 });
      const start = await b.history('c', { limit: 0 });
      const stream = b.stream('c', { since: start.position });
      const first = stream.next();
      await sleep(100);
      await Promise.all(range(1, 2000).map((i) => b.publish('c', i)));
      await sleep(20);
      const seen: number[] = [];
      const head = await first;
      if (head.done !== true) seen.push(head.value.offset);
      await assert.rejects(
        async () => {
          for (;;) {
            const step = await stream.next();
            if (step.done === true) assert.fail('ended without an error');
            seen.push(step.value.offset);
          }
        },
        (error: unknown) => error instanceof BrokerRecoveryError && error.position.offset === 2000,
      );
      assert.deepEqual(seen, range(1, seen.length), 'what came before the error is in order');
      assert.ok(seen.length < 2000);
    });

    it('a reader that stops reading does not hold back the others', async () => {
      const b = broker();
      const start = await b.history('c', { limit: 0 });
      const stalled = b.stream('c', { since: start.position });
      const stalledStep = stalled.next().catch((error: unknown) => error);
      const reader = b.stream('c', { since: start.position });
      const n = 2500;
      const reading = take(reader, n, 15_000);
      await sleep(100);
      // In bursts, as publishers do: a single burst larger than the buffer and the history
      // together would be more than any reader can be caught up on.
      for (let i = 1; i <= n; i += 100) {
        await Promise.all(range(i, Math.min(i + 99, n)).map((k) => b.publish('c', k)));
        await sleep(1);
      }
      assert.deepEqual(offsets(await reading), range(1, n));
      await stalled.return?.();
      await stalledStep;
      await reader.return?.();
    });

    it('push mode (what relay() reads): history then live in order; a paused sink is caught up from history; return() ends it', async () => {
      const b = broker({ historySize: 5000 });
      for (const i of range(1, 3)) await b.publish('c', i);
      const stream = b.stream('c');
      const pushed = pushInto(stream, 5);
      await until(() => pushed.got.length === 3);
      await sleep(100); // a Redis subscription takes a round trip
      // Paused after 5: the next 2 995 wait in the stream's bounded buffer, then the history.
      await Promise.all(range(4, 3000).map((i) => b.publish('c', i)));
      await sleep(50);
      assert.equal(pushed.got.length, 5, 'nothing is pushed while the sink is paused');
      pushed.resume();
      await until(() => pushed.got.length === 3000, 10_000);
      assert.deepEqual(offsets(pushed.got), range(1, 3000));
      assert.deepEqual(
        pushed.got.map((p) => p.data),
        range(1, 3000),
      );
      await assert.rejects(stream.next(), TypeError, 'a pushing stream is not read by next()');
      await stream.return?.();
      assert.equal(await pushed.ended, 'ended');
      await b.publish('c', 3001);
      await sleep(20);
      assert.equal(pushed.got.length, 3000, 'nothing after the end');
    });

    it('push mode ends with the error a reader would get: recovery, a reader left behind, close()', async () => {
      const b = broker({ historySize: 10 });
      for (const i of range(1, 20)) await b.publish('c', i);
      const { position: latest } = await b.history('c', { limit: 0 });
      const lost = pushInto(b.stream('c', { since: { offset: 1, epoch: latest.epoch } }));
      const error = await lost.ended;
      assert.ok(error instanceof BrokerRecoveryError && error.position.offset === 20);
      assert.deepEqual(lost.got, []);

      const behind = pushInto(b.stream('c', { since: latest }), 1);
      await sleep(100);
      await Promise.all(range(21, 2100).map((i) => b.publish('c', i)));
      await sleep(20);
      behind.resume();
      const behindError = await behind.ended;
      assert.ok(behindError instanceof BrokerRecoveryError, String(behindError));
      assert.deepEqual(
        offsets(behind.got),
        range(21, 20 + behind.got.length),
        'in order up to there',
      );

      const open = pushInto(b.stream('c'));
      await until(() => open.got.length === 10);
      await b.close();
      assert.ok((await open.ended) instanceof BrokerClosedError);
    });

    it('waitFor: what is there now, limit oldest first, else the first to arrive, else [] on timeout', async () => {
      const b = broker();
      const start = (await b.history('c', { limit: 0 })).position;
      for (const i of range(1, 5)) await b.publish('c', i);
      assert.deepEqual(offsets(await b.waitFor('c', start, { limit: 2 })), [1, 2]);
      assert.deepEqual(offsets(await b.waitFor('c', start)), range(1, 5));
      const latest = { offset: 5, epoch: start.epoch };
      const began = Date.now();
      assert.deepEqual(await b.waitFor('c', latest, { timeout: 100 }), []);
      assert.ok(Date.now() - began >= 90);
      const waiting = b.waitFor('c', latest, { timeout: 5000 });
      await sleep(30);
      await b.publish('c', 6);
      assert.deepEqual(offsets(await waiting), [6]);
      await assert.rejects(
        async () => b.waitFor('c', { offset: 3, epoch: 'gone' }, { timeout: 100 }),
        BrokerRecoveryError,
      );
    });

    it('subscribe: nothing before ready, each live publication once, nothing after close', async () => {
      const b = broker();
      await b.publish('c', 'before');
      const got: unknown[] = [];
      const sub = b.subscribe('c', (p) => got.push(p.data));
      await sub.ready;
      await b.publish('c', 'one');
      await b.publish('c', 'two');
      const deadline = Date.now() + 5000;
      while (got.length < 2 && Date.now() < deadline) await sleep(5);
      assert.deepEqual(got, ['one', 'two']);
      await sub.close();
      await b.publish('c', 'after');
      await sleep(50);
      assert.deepEqual(got, ['one', 'two']);
    });

    it('a throwing subscriber is logged and harms no one', async () => {
      const b = broker();
      const got: number[] = [];
      await expectLog(appLog, /subscriber/, async () => {
        const bad = b.subscribe('c', () => {
          throw new Error('subscriber bug');
        });
        const good = b.subscribe('c', (p) => got.push(p.offset));
        await Promise.all([bad.ready, good.ready]);
        await b.publish('c', 1);
        await b.publish('c', 2);
        const deadline = Date.now() + 5000;
        while (got.length < 2 && Date.now() < deadline) await sleep(5);
      });
      assert.deepEqual(got, [1, 2]);
    });

    it('1,000 subscribers and 50 streams on one channel each get every publication', async () => {
      const b = broker();
      const start = (await b.history('c', { limit: 0 })).position;
      const counts = new Array<number>(1000).fill(0);
      const subs = counts.map((_, i) => b.subscribe('c', () => counts[i]!++));
      await Promise.all(subs.map((s) => s.ready));
      const streams = range(1, 50).map(() => b.stream('c', { since: start }));
      const reading = streams.map((s) => take(s, 20, 10_000));
      for (const i of range(1, 20)) await b.publish('c', i);
      for (const got of await Promise.all(reading)) assert.deepEqual(offsets(got), range(1, 20));
      const deadline = Date.now() + 5000;
      while (counts.some((c) => c < 20) && Date.now() < deadline) await sleep(10);
      assert.deepEqual(new Set(counts), new Set([20]));
      await Promise.all(subs.map((s) => s.close()));
      for (const s of streams) await s.return?.();
    });

    it('close(): open streams and waits end with BrokerClosedError, later calls fail, a second close resolves', async () => {
      const b = make();
      const p = await b.publish('c', 1);
      const stream = b.stream('c', { since: position(p) });
      const pending = stream.next();
      const wait = b.waitFor('c', position(p));
      await sleep(50);
      await b.close();
      await assert.rejects(pending, BrokerClosedError);
      await assert.rejects(wait, BrokerClosedError);
      await assert.rejects(async () => stream.next(), BrokerClosedError);
      await assert.rejects(async () => b.publish('c', 1), BrokerClosedError);
      await assert.rejects(async () => b.history('c'), BrokerClosedError);
      await assert.rejects(async () => b.waitFor('c', null), BrokerClosedError);
      await assert.rejects(async () => {
        for await (const _ of b.stream('c')) break;
      }, BrokerClosedError);
      await assert.rejects(async () => b.subscribe('c', () => {}).ready, BrokerClosedError);
      await b.close();
    });
  });
}

export type { StreamPosition };
