/**
 * `MemoryBroker`: the embedded engine for one process, with no dependency.
 * @module
 */

import { randomBytes } from 'node:crypto';
import { Future, resolvedFuture } from '../concurrent.ts';
import { BrokerBase, recoveryOf } from './base.ts';
import type { Engine } from './hub.ts';
import {
  checkChannel,
  encodeData,
  rememberEncoding,
  resolveLimits,
  type BrokerOptions,
  type HistoryResult,
  type Publication,
  type ResolvedLimits,
  type StreamPosition,
} from './types.ts';

/** One channel's state. */
interface ChannelRecord {
  epoch: string;
  offset: number;
  readonly history: HistoryRing;
  /** Date.now() of the last publication (or of the record's creation). */
  touched: number;
}

/**
 * The last `capacity` publications of a channel: a ring that overwrites the oldest, so keeping
 * exactly `historySize` costs no array shifting and no more than `capacity` slots.
 */
class HistoryRing {
  readonly #capacity: number;
  #items: Publication[] = [];
  #start = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get length(): number {
    return this.#items.length;
  }

  push(p: Publication): void {
    if (this.#items.length < this.#capacity) {
      this.#items.push(p);
    } else {
      this.#items[this.#start] = p;
      this.#start = (this.#start + 1) % this.#capacity;
    }
  }

  /** The i-th kept publication, oldest first. */
  at(i: number): Publication | undefined {
    const n = this.#items.length;
    return i < 0 || i >= n ? undefined : this.#items[(this.#start + i) % n];
  }

  first(): Publication | undefined {
    return this.at(0);
  }

  clear(): void {
    this.#items = [];
    this.#start = 0;
  }
}

// Longest pause between two sweeps of expired channels.
const MAX_SWEEP_MS = 60_000;

/**
 * The embedded broker: channels, history and delivery inside this process, no dependency.
 * The default for one process; switch to `RedisBroker` when the app runs as several
 * processes or machines — both pass the same contract suite, so code written against
 * {@link Broker} does not change.
 *
 * Each instance is its own engine with its own epoch (a random string), so positions from a
 * previous run of the process are recognised as from another epoch and not resumed.
 * Publications made in one turn of the loop get offsets in call order.
 *
 * @example
 * ```ts
 * import { MemoryBroker } from 'typhoon/broker';
 * const broker = new MemoryBroker({ historySize: 100 });
 * const sub = broker.subscribe('chat', (pub) => console.log(pub.offset, pub.data));
 * await sub.ready;
 * await broker.publish('chat', { text: 'hi' }); // logs: 1 { text: 'hi' }
 * await broker.close();
 * ```
 * Tornado: none (the chat demo's `MessageBuffer` as a reusable engine).
 */
export class MemoryBroker extends BrokerBase {
  readonly #records: Map<string, ChannelRecord>;
  readonly #engine: MemoryEngine;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options?: BrokerOptions) {
    const limits = resolveLimits(options);
    const records = new Map<string, ChannelRecord>();
    const engine = new MemoryEngine(limits, records);
    super(limits, engine);
    this.#records = records;
    this.#engine = engine;
    engine.hubDeliver = (p) => this.hub.deliver(p);
  }

  /** {@inheritDoc Broker.publish} */
  publish(channel: string, data: unknown): Future<Publication> {
    this.checkOpen();
    checkChannel(channel);
    // Serialized now, so later changes to `data` change nothing; a refusal uses no offset.
    const json = encodeData(data, this.limits.maxMessageSize);
    const now = Date.now();
    let record = this.#engine.record(channel, now);
    if (record === undefined) {
      record = {
        epoch: this.#engine.freshEpoch,
        offset: 0,
        history: new HistoryRing(this.limits.historySize),
        touched: now,
      };
      this.#records.set(channel, record);
      this.#startSweeper();
    }
    record.offset++;
    record.touched = now;
    const publication: Publication = {
      channel,
      offset: record.offset,
      epoch: record.epoch,
      data: JSON.parse(json),
      time: now,
    };
    rememberEncoding(publication, json);
    record.history.push(publication);
    this.#engine.deliverSoon(publication);
    return resolvedFuture(publication);
  }

  protected read(
    channel: string,
    since: StreamPosition | null,
    limit: number,
  ): Promise<HistoryResult> {
    return this.#engine.read(channel, since, limit);
  }

  protected shutdown(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#records.clear();
    return Promise.resolve();
  }

  #startSweeper(): void {
    if (this.#sweeper !== undefined) return;
    const every = Math.min(this.limits.historyTtl, MAX_SWEEP_MS);
    this.#sweeper = setInterval(() => this.#engine.sweep(this.hub.feeds), every);
    this.#sweeper.unref();
  }
}

/** The engine side of MemoryBroker: records, reads, expiry and deferred delivery. */
class MemoryEngine implements Engine {
  readonly historySize: number;
  readonly #limits: ResolvedLimits;
  readonly #records: Map<string, ChannelRecord>;
  readonly #instanceEpoch = randomBytes(9).toString('base64url');
  // Bumped when expired channels are forgotten, so a forgotten channel that comes back gets a
  // new epoch and never hands out an offset twice within one.
  #generation = 0;
  #due: Publication[] = [];
  hubDeliver: (p: Publication) => void = () => {};

  constructor(limits: ResolvedLimits, records: Map<string, ChannelRecord>) {
    this.#limits = limits;
    this.historySize = limits.historySize;
    this.#records = records;
  }

  /** The epoch a channel without a record has (and keeps at its first publication). */
  get freshEpoch(): string {
    return this.#generation === 0
      ? this.#instanceEpoch
      : `${this.#instanceEpoch}.${this.#generation}`;
  }

  /** The record of `channel` with expiry applied, if there is one. */
  record(channel: string, now: number): ChannelRecord | undefined {
    const record = this.#records.get(channel);
    if (record !== undefined && now - record.touched >= this.#limits.historyTtl) {
      record.history.clear();
    }
    return record;
  }

  read(channel: string, since: StreamPosition | null, limit: number): Promise<HistoryResult> {
    const record = this.record(channel, Date.now());
    const epoch = record?.epoch ?? this.freshEpoch;
    const latest = record?.offset ?? 0;
    const history = record?.history;
    const first = history?.first()?.offset ?? 0;
    const { recovered, from } = recoveryOf(since, epoch, latest, first);
    const publications: Publication[] = [];
    if (history !== undefined && from !== 0 && limit > 0) {
      // Offsets in the history are consecutive, so `from` maps to an index.
      const n = history.length;
      for (let i = from - first; i < n && publications.length < limit; i++) {
        publications.push(history.at(i) as Publication);
      }
    }
    return Promise.resolve({ publications, position: { offset: latest, epoch }, recovered });
  }

  attach(channel: string): Promise<StreamPosition> {
    return Promise.resolve(this.latest(channel));
  }

  detach(): void {}

  latestNow(channel: string): StreamPosition {
    return this.latest(channel);
  }

  latest(channel: string): StreamPosition {
    const record = this.#records.get(channel);
    return record === undefined
      ? { offset: 0, epoch: this.freshEpoch }
      : { offset: record.offset, epoch: record.epoch };
  }

  /** Deliver `p` after the current synchronous code: a subscriber never runs inside publish. */
  deliverSoon(p: Publication): void {
    this.#due.push(p);
    if (this.#due.length === 1) queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    const due = this.#due;
    this.#due = [];
    for (const p of due) this.hubDeliver(p);
  }

  /** Drop expired histories; forget channels idle past positionTtl that nobody reads. */
  sweep(readers: ReadonlyMap<string, unknown>): void {
    const now = Date.now();
    let forgot = false;
    for (const [channel, record] of this.#records) {
      const idle = now - record.touched;
      if (idle >= this.#limits.positionTtl && !readers.has(channel)) {
        this.#records.delete(channel);
        forgot = true;
      } else if (idle >= this.#limits.historyTtl) {
        record.history.clear();
      }
    }
    if (forgot) this.#generation++;
  }
}
