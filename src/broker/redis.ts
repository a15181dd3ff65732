/**
 * `RedisBroker`: the engine for many processes and machines, on Redis ≥ 6.2 (or Valkey)
 * through node-redis, which is loaded only when a `RedisBroker` is made.
 *
 * Layout in Redis, per channel `c` under the key prefix `P` (database `D` of the URL):
 * ```
 *  P m:c   hash {e: epoch, o: last offset, r: run_id}  lives positionTtl after the last publication
 *  P s:c   stream, entry id `offset-0`, fields d (JSON) and t (ms), MAXLEN = historySize exactly,
 *          lives historyTtl after the last publication
 *  P D:p:c pub/sub channel carrying "offset epoch time json"
 * ```
 * A Lua script assigns the offset (HINCRBY), appends to the stream and publishes, atomically,
 * so every process agrees on one order. The epoch is set once when the hash is made (HSET
 * after a check, inside the script) and is lost with the data, so a Redis that restarted
 * empty gives every channel a new epoch. A restart can also keep the epoch but lose the tail
 * (`appendfsync everysec` loses up to a second in a crash; a snapshot loses more): unless Redis
 * runs with `appendonly yes` and `appendfsync always`, each channel's hash records the server
 * run that wrote it (INFO `run_id`), and the first call after a restart moves the channel to a
 * new epoch, so no offset is handed out twice even when every process restarted too. The price:
 * readers of such a Redis re-sync after each of its restarts. The engine also starts a new
 * epoch when it sees the counter behind the stream or behind an offset this process already
 * saw. A client's own position is never trusted to force a new epoch (any client could then
 * wipe a channel's history): one ahead of the counter gets `BrokerRecoveryError`.
 * @module
 */

import { createHash, randomBytes } from 'node:crypto';
import { Future, toFuture } from '../concurrent.ts';
import { BrokerUnavailableError } from '../errors.ts';
import { appLog } from '../log.ts';
import { BrokerBase, recoveryOf } from './base.ts';
import type { Engine, Hub } from './hub.ts';
import {
  checkChannel,
  encodeData,
  rememberEncoding,
  resolveLimits,
  type BrokerLimits,
  type HistoryResult,
  type Publication,
  type ResolvedLimits,
  type StreamPosition,
} from './types.ts';

/** Options of {@link RedisBroker}. */
export interface RedisBrokerOptions extends BrokerLimits {
  /** The Redis URL (`redis://[user:pass@]host:port[/db]`). Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Prefix of every key and pub/sub channel: brokers with the same one share. Default `typhoon:`. */
  keyPrefix?: string;
  /**
   * How long a call waits for Redis when the broker has not connected yet, and for one
   * command's reply, in ms. Default 5 000.
   */
  connectTimeout?: number;
}

// The few node-redis calls used here, typed narrowly (its full generic types are heavy).
type Listener = (message: string, channel: string) => void;
interface RedisClientLike {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  duplicate(): RedisClientLike;
  sendCommand(args: string[]): Promise<unknown>;
  subscribe(channel: string, listener: Listener): Promise<void>;
  unsubscribe(channel: string, listener: Listener): Promise<void>;
  on(event: string, fn: (arg: unknown) => void): unknown;
  once(event: string, fn: () => void): unknown;
}
interface Clients {
  cmd: RedisClientLike;
  sub: RedisClientLike;
  /** Settle at each client's first 'ready'. */
  cmdReady: Promise<void>;
  subReady: Promise<void>;
}

// Shared prologue: find the channel's epoch and counter, or start a new epoch when there is
// none, when the counter is behind an offset the caller already saw in this epoch (ARGV[2],
// ARGV[3]), or behind the stream's last entry. ARGV[1] is a fresh epoch, ARGV[4] positionTtl.
// Unless Redis syncs every write (ARGV[5] = '1'), a restart may have lost a tail nobody still
// running saw: the hash records the server run (`r`) that last wrote it, and a hash from another
// run starts a new epoch. INFO runs inside the script so the run cannot change under the check.
const ENSURE = `
local m, s = KEYS[1], KEYS[2]
local e = redis.call('HGET', m, 'e')
local o = 0
local fresh = not e
local run = false
if ARGV[5] ~= '1' then
  run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
end
if e then
  o = tonumber(redis.call('HGET', m, 'o') or '0')
  if e == ARGV[2] and o < tonumber(ARGV[3]) then fresh = true end
  if run and redis.call('HGET', m, 'r') ~= run then fresh = true end
  if not fresh then
    local last = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1)[1]
    if last and tonumber(string.match(last[1], '^%d+')) > o then fresh = true end
  end
end
if fresh then
  e = ARGV[1]
  o = 0
  redis.call('DEL', s)
  redis.call('HSET', m, 'e', e, 'o', 0)
  if run then redis.call('HSET', m, 'r', run) end
  redis.call('PEXPIRE', m, ARGV[4])
end
`;

// ARGV[6] historySize, ARGV[7] historyTtl, ARGV[8] data JSON, ARGV[9] pub/sub channel.
const PUBLISH_SCRIPT = `${ENSURE}
o = redis.call('HINCRBY', m, 'o', 1)
redis.call('PEXPIRE', m, ARGV[4])
local t = redis.call('TIME')
local ms = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
redis.call('XADD', s, 'MAXLEN', ARGV[6], o .. '-0', 'd', ARGV[8], 't', ms)
redis.call('PEXPIRE', s, ARGV[7])
redis.call('PUBLISH', ARGV[9], o .. ' ' .. e .. ' ' .. ms .. ' ' .. ARGV[8])
return {o, e, ms}
`;

// ARGV[6] since epoch ('' for none), ARGV[7] since offset, ARGV[8] limit.
const READ_SCRIPT = `${ENSURE}
local head = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1]
local first = 0
if head then first = tonumber(string.match(head[1], '^%d+')) end
local entries = {}
local limit = tonumber(ARGV[8])
if limit > 0 then
  if ARGV[6] == '' then
    entries = redis.call('XRANGE', s, '-', '+', 'COUNT', limit)
  elseif ARGV[6] == e and tonumber(ARGV[7]) < o then
    entries = redis.call('XRANGE', s, (tonumber(ARGV[7]) + 1) .. '-0', '+', 'COUNT', limit)
  end
end
return {e, o, first, entries}
`;

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
const PUBLISH_SHA = sha1(PUBLISH_SCRIPT);
const READ_SHA = sha1(READ_SCRIPT);
// Channels whose last offset this process remembers without reading them (see `#known`).
const KNOWN_LIMIT = 10_000;

const newEpoch = (): string => randomBytes(9).toString('base64url');

/**
 * The broker for many processes and machines: history in a Redis Stream per channel (exactly
 * `historySize` entries), offsets assigned atomically inside Redis, live delivery by Redis
 * pub/sub through one subscriber connection per broker, and an epoch that changes when Redis
 * lost the data. Brokers with the same `url` and `keyPrefix` share channels, offsets and
 * delivery; another prefix isolates.
 *
 * When Redis goes away, publishes and `history` fail with `BrokerUnavailableError`; streams,
 * long polls and subscriptions wait — those open across the outage and those started during
 * it alike — and when it is back they deliver what was published meanwhile from the history,
 * or, if the restart lost the data, streams end with `BrokerRecoveryError` carrying the
 * position in the new epoch. A Redis that does not answer at startup fails calls with
 * `BrokerUnavailableError` after `connectTimeout`, never a hang.
 *
 * @example
 * ```ts
 * import { RedisBroker } from 'typhoon/broker';
 * const broker = new RedisBroker({ url: 'redis://127.0.0.1:6379', keyPrefix: 'chat:' });
 * const pub = await broker.publish('room:1', { text: 'hi' });
 * const { publications } = await broker.history('room:1', { since: { offset: 0, epoch: pub.epoch } });
 * await broker.close();
 * ```
 * Tornado: none.
 */
export class RedisBroker extends BrokerBase {
  readonly #engine: RedisEngine;

  constructor(options?: RedisBrokerOptions) {
    const limits = resolveLimits(options);
    const connectTimeout = options?.connectTimeout ?? 5000;
    if (!Number.isSafeInteger(connectTimeout) || connectTimeout < 1) {
      throw new RangeError('connectTimeout must be a positive integer of ms');
    }
    const keyPrefix = options?.keyPrefix ?? 'typhoon:';
    if (typeof keyPrefix !== 'string') throw new TypeError('keyPrefix must be a string');
    const engine = new RedisEngine(
      limits,
      options?.url ?? 'redis://127.0.0.1:6379',
      keyPrefix,
      connectTimeout,
    );
    super(limits, engine);
    this.#engine = engine;
    engine.start(this.hub);
  }

  /** {@inheritDoc Broker.publish} */
  publish(channel: string, data: unknown): Future<Publication> {
    this.checkOpen();
    checkChannel(channel);
    const json = encodeData(data, this.limits.maxMessageSize);
    return toFuture(this.#engine.publish(channel, json));
  }

  protected read(
    channel: string,
    since: StreamPosition | null,
    limit: number,
  ): Promise<HistoryResult> {
    return this.#engine.read(channel, since, limit);
  }

  protected shutdown(): Promise<void> {
    return this.#engine.close();
  }
}

/** Resolves true when `ready` settles first, false after `ms`. */
function within(ready: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    void ready.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The engine side of RedisBroker: the two connections, the scripts, live delivery. */
class RedisEngine implements Engine {
  readonly historySize: number;
  readonly #limits: ResolvedLimits;
  readonly #url: string;
  readonly #prefix: string;
  readonly #pubsubPrefix: string;
  readonly #timeout: number;
  readonly #startedAt = Date.now();
  #clients: Promise<Clients> | null = null;
  #hub: Hub | null = null;
  #closed = false;
  #outage = false;
  // Both connections were ready once: from then on, unavailable means an outage.
  #reached = false;
  readonly #listeners = new Map<string, Listener>();
  // Last position this process saw per channel (publish results, live messages, reads): the
  // evidence that Redis went back in time within an epoch. Bounded, oldest forgotten first.
  readonly #known = new Map<string, StreamPosition>();
  // Whether the connected Redis syncs every write to its append-only file ('1') or not ('0'):
  // asked once per connection, forgotten when it drops (a restart may change the setting).
  #durable: Promise<string> | null = null;
  #connection = 0;

  constructor(limits: ResolvedLimits, url: string, prefix: string, timeout: number) {
    this.#limits = limits;
    this.historySize = limits.historySize;
    this.#url = url;
    this.#prefix = prefix;
    let db = 0;
    try {
      db = Number(new URL(url).pathname.slice(1) || '0') || 0;
    } catch {
      throw new TypeError(`not a Redis URL: ${JSON.stringify(url)}`);
    }
    // Pub/sub ignores SELECT: the database goes into the name so databases stay apart.
    this.#pubsubPrefix = `${prefix}${db}:p:`;
    this.#timeout = timeout;
  }

  start(hub: Hub): void {
    this.#hub = hub;
    this.#clients = this.#connect();
    this.#clients.catch(() => {}); // reported to each call that needs the clients
  }

  async #connect(): Promise<Clients> {
    const { createClient } = await import('redis');
    const cmd = createClient({
      url: this.#url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.#timeout,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1000),
      },
    }) as unknown as RedisClientLike;
    const sub = cmd.duplicate();
    let subReadyBefore = false;
    // Any change of the command connection (lost, or a new one ready) forgets the setting.
    const changed = (): void => {
      this.#durable = null;
      this.#connection++;
    };
    cmd.on('error', changed);
    cmd.on('end', changed);
    cmd.on('ready', changed);
    for (const client of [cmd, sub]) {
      client.on('error', (error) => this.#onError(error));
      client.on('ready', () => {
        if (cmd.isReady && sub.isReady) this.#reached = true;
        if (this.#outage && cmd.isReady && sub.isReady) {
          this.#outage = false;
          appLog.info(`broker: Redis at ${this.#url} is back`);
        }
      });
    }
    sub.on('ready', () => {
      // node-redis re-subscribes before 'ready'; what was published meanwhile comes from the
      // history, read once per channel.
      if (subReadyBefore) this.#hub?.resync();
      subReadyBefore = true;
    });
    if (this.#closed) throw new BrokerUnavailableError('broker is closed');
    // connect() retries until Redis answers: never awaited as such, readiness is checked per call.
    const firstReady = (client: RedisClientLike): Promise<void> =>
      new Promise((resolve) => client.once('ready', resolve));
    const clients: Clients = {
      cmd,
      sub,
      cmdReady: firstReady(cmd),
      subReady: firstReady(sub),
    };
    cmd.connect().catch(() => {});
    sub.connect().catch(() => {});
    return clients;
  }

  /**
   * An unavailable Redis that this engine reached before is an outage: node-redis reconnects,
   * so readers wait for it. Before the first connection it is a failure to report.
   */
  transient(error: unknown): boolean {
    return error instanceof BrokerUnavailableError && this.#reached && !this.#closed;
  }

  #onError(error: unknown): void {
    if (this.#closed || this.#outage) return;
    this.#outage = true;
    appLog.warning(
      `broker: Redis at ${this.#url} is unreachable (${error instanceof Error ? error.message : String(error)}); retrying`,
    );
  }

  /** The client, ready: waits while the broker is still making its first connection. */
  async #ready(which: 'cmd' | 'sub'): Promise<RedisClientLike> {
    if (this.#clients === null) throw new BrokerUnavailableError('broker not started');
    let clients;
    try {
      clients = await this.#clients;
    } catch (error) {
      throw new BrokerUnavailableError(`cannot load the redis client: ${String(error)}`, {
        cause: error,
      });
    }
    const client = clients[which];
    if (client.isReady) return client;
    const left = this.#startedAt + this.#timeout - Date.now();
    const ready = which === 'cmd' ? clients.cmdReady : clients.subReady;
    if (left > 0 && (await within(ready, left)) && client.isReady) return client;
    throw new BrokerUnavailableError(`Redis at ${this.#url} is unavailable`);
  }

  /**
   * '1' when Redis writes an append-only file and syncs it on every write: then a restart keeps
   * everything acknowledged. A Redis that refuses CONFIG (a managed one) counts as not durable.
   */
  async #askDurable(cmd: RedisClientLike): Promise<string> {
    const setting = async (name: string): Promise<string> => {
      try {
        const reply = await this.#deadline(cmd.sendCommand(['CONFIG', 'GET', name]));
        const value = Array.isArray(reply) ? reply[1] : (reply as Record<string, unknown>)[name];
        return String(value ?? '');
      } catch (error) {
        if (error instanceof Error && /^(ERR|NOPERM)/.test(error.message)) return '';
        throw error;
      }
    };
    const [aof, fsync] = await Promise.all([setting('appendonly'), setting('appendfsync')]);
    return aof === 'yes' && fsync === 'always' ? '1' : '0';
  }

  /** Run a script (EVALSHA, loading it with EVAL when Redis does not have it). */
  async #script(sha: string, script: string, channel: string, args: string[]): Promise<unknown[]> {
    let cmd = await this.#ready('cmd');
    const keys = [`${this.#prefix}m:${channel}`, `${this.#prefix}s:${channel}`];
    try {
      // The setting must come from the connection the script goes out on: asked again when the
      // connection changed while waiting for the answer.
      for (;;) {
        const connection = this.#connection;
        this.#durable ??= this.#askDurable(cmd);
        const durable = this.#durable;
        let answer: string;
        try {
          answer = await durable;
        } catch (error) {
          if (this.#durable === durable) this.#durable = null;
          throw error;
        }
        if (connection === this.#connection && cmd.isReady) {
          args[4] = answer;
          break;
        }
        cmd = await this.#ready('cmd');
      }
      try {
        return (await this.#deadline(
          cmd.sendCommand(['EVALSHA', sha, '2', ...keys, ...args]),
        )) as unknown[];
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return (await this.#deadline(
          cmd.sendCommand(['EVAL', script, '2', ...keys, ...args]),
        )) as unknown[];
      }
    } catch (error) {
      if (error instanceof BrokerUnavailableError) throw error;
      throw new BrokerUnavailableError(
        `Redis at ${this.#url} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  #deadline<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BrokerUnavailableError(`Redis at ${this.#url} did not answer in time`)),
        this.#timeout,
      );
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  #knownArgs(channel: string): [string, string] {
    const known = this.#known.get(channel);
    return known === undefined ? ['', '0'] : [known.epoch, String(known.offset)];
  }

  #remember(channel: string, pos: StreamPosition): void {
    const known = this.#known.get(channel);
    if (known !== undefined && known.epoch === pos.epoch && known.offset >= pos.offset) return;
    this.#known.delete(channel);
    this.#known.set(channel, { offset: pos.offset, epoch: pos.epoch });
    if (this.#known.size > KNOWN_LIMIT) {
      const oldest = this.#known.keys().next().value as string;
      this.#known.delete(oldest);
    }
  }

  async publish(channel: string, json: string): Promise<Publication> {
    const reply = await this.#script(PUBLISH_SHA, PUBLISH_SCRIPT, channel, [
      newEpoch(),
      ...this.#knownArgs(channel),
      String(this.#limits.positionTtl),
      '', // durable, filled in by #script
      String(this.#limits.historySize),
      String(this.#limits.historyTtl),
      json,
      this.#pubsubPrefix + channel,
    ]);
    const publication: Publication = {
      channel,
      offset: Number(reply[0]),
      epoch: String(reply[1]),
      data: JSON.parse(json),
      time: Number(reply[2]),
    };
    rememberEncoding(publication, json);
    this.#remember(channel, publication);
    return publication;
  }

  async read(channel: string, since: StreamPosition | null, limit: number): Promise<HistoryResult> {
    const reply = await this.#script(READ_SHA, READ_SCRIPT, channel, [
      newEpoch(),
      ...this.#knownArgs(channel),
      String(this.#limits.positionTtl),
      '', // durable, filled in by #script
      since === null ? '' : since.epoch,
      since === null ? '0' : String(since.offset),
      String(limit),
    ]);
    const epoch = String(reply[0]);
    const latest = Number(reply[1]);
    const first = Number(reply[2]);
    const entries = reply[3] as Array<[string, string[]]>;
    const position = { offset: latest, epoch };
    this.#remember(channel, position);
    const { recovered, from } = recoveryOf(since, epoch, latest, first);
    const publications: Publication[] = [];
    if (from !== 0) {
      for (const [id, fields] of entries) {
        const offset = Number.parseInt(id, 10);
        if (offset < from) continue;
        let json = 'null';
        let time = 0;
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i] === 'd') json = fields[i + 1] as string;
          else if (fields[i] === 't') time = Number(fields[i + 1]);
        }
        const publication: Publication = { channel, offset, epoch, data: JSON.parse(json), time };
        rememberEncoding(publication, json);
        publications.push(publication);
      }
    }
    return { publications, position, recovered };
  }

  async attach(channel: string): Promise<StreamPosition> {
    const sub = await this.#ready('sub');
    const listener: Listener = (message) => this.#onMessage(channel, message);
    this.#listeners.set(channel, listener);
    try {
      await this.#deadline(sub.subscribe(this.#pubsubPrefix + channel, listener));
    } catch (error) {
      this.#listeners.delete(channel);
      sub.unsubscribe(this.#pubsubPrefix + channel, listener).catch(() => {});
      if (error instanceof BrokerUnavailableError) throw error;
      throw new BrokerUnavailableError(`Redis at ${this.#url} refused to subscribe`, {
        cause: error,
      });
    }
    // Subscribed first, then the position: nothing published in between can be missed.
    try {
      return (await this.read(channel, null, 0)).position;
    } catch (error) {
      // No feed will own this subscription: drop it, or it would outlive every later detach.
      if (this.#listeners.get(channel) === listener) this.#listeners.delete(channel);
      sub.unsubscribe(this.#pubsubPrefix + channel, listener).catch(() => {});
      throw error;
    }
  }

  detach(channel: string): void {
    const listener = this.#listeners.get(channel);
    if (listener === undefined || this.#clients === null) return;
    this.#listeners.delete(channel);
    void this.#clients.then(
      ({ sub }) => sub.unsubscribe(this.#pubsubPrefix + channel, listener).catch(() => {}),
      () => {},
    );
  }

  #onMessage(channel: string, message: string): void {
    const a = message.indexOf(' ');
    const b = message.indexOf(' ', a + 1);
    const c = message.indexOf(' ', b + 1);
    let publication: Publication;
    try {
      if (a < 0 || b < 0 || c < 0) throw new Error('malformed');
      const json = message.slice(c + 1);
      publication = {
        channel,
        offset: Number(message.slice(0, a)),
        epoch: message.slice(a + 1, b),
        data: JSON.parse(json),
        time: Number(message.slice(b + 1, c)),
      };
      rememberEncoding(publication, json);
    } catch (error) {
      appLog.error(`broker: malformed message on channel ${JSON.stringify(channel)}`, error);
      return;
    }
    this.#remember(channel, publication);
    this.#hub?.deliver(publication);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const clients = this.#clients;
    if (clients === null) return;
    try {
      const { cmd, sub } = await clients;
      // destroy(): no QUIT round trip, which would wait on a Redis that may be gone.
      sub.destroy();
      cmd.destroy();
    } catch {
      // the client never loaded: nothing to release
    }
  }
}
