/// <reference types="node" preserve="true" />

/**
 * `typhoon/broker`: messages across processes and machines, with history and resumable
 * positions.
 *
 * A {@link Broker} publishes JSON values to named channels, keeps the last `historySize` of
 * each channel, and hands them to subscribers, streams and long polls. Every publication has
 * a position `{offset, epoch}`: offsets count 1, 2, 3, … per channel; the epoch changes when the
 * engine lost the channel's history. A client that was away resumes from its position and gets
 * exactly what it missed (at least once within the history), or a `BrokerRecoveryError`
 * telling it to re-sync — never a silent gap.
 *
 * Two engines pass one contract suite: {@link MemoryBroker} (one process, no dependency) and
 * {@link RedisBroker} (many processes and machines sharing one Redis ≥ 6.2).
 *
 * @example
 * ```ts
 * import { MemoryBroker, formatPosition, parsePosition } from 'typhoon/broker';
 * const broker = new MemoryBroker();
 * await broker.publish('room', { text: 'hello' });
 * // A long poll: everything after the client's cursor, or the next one to arrive.
 * const pubs = await broker.waitFor('room', parsePosition('0@' + epoch), { timeout: 30_000 });
 * ```
 * Tornado: none (Tornado leaves cross-process messaging to the application).
 * @module typhoon/broker
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
export { MemoryBroker } from './memory.ts';
export { RedisBroker } from './redis.ts';
export type { RedisBrokerOptions } from './redis.ts';
export { formatPosition, parsePosition, position, encodedData } from './types.ts';
export type {
  Broker,
  BrokerLimits,
  BrokerOptions,
  HistoryOptions,
  HistoryResult,
  JSONValue,
  Publication,
  StreamOptions,
  StreamPosition,
  Subscription,
  WaitForOptions,
} from './types.ts';
export {
  BrokerClosedError,
  BrokerRecoveryError,
  BrokerMessageTooLargeError,
  BrokerUnavailableError,
} from '../errors.ts';
