/**
 * The chat room: one broker channel and the limits around it. Every process of the demo makes
 * its own `ChatRoom` on a shared broker (a `MemoryBroker` for one process, a `RedisBroker` for
 * many), so a message posted to any process reaches the pages held by all of them.
 *
 * A message on the wire carries its broker position (`"offset@epoch"`, `formatPosition`): the
 * page resumes from it (the SSE `Last-Event-ID`, the long poll's `cursor`), and a position the
 * broker cannot recover makes the page reload its history instead of missing messages.
 */
import type { Broker, Publication } from '../../src/broker/index.ts';
import { formatPosition } from '../../src/broker/index.ts';

/** One chat message's data; the API sends it with `html`, its rendering by message.html. */
export interface ChatMessage {
  /** The broker position, `"offset@epoch"`: the cursor / event id to resume after it. */
  position: string;
  /** The offset alone (the page orders and de-duplicates by it). */
  offset: number;
  body: string;
  author: string | null;
  /** When the broker stored it, ms since 1970. */
  time: number;
}

/** Options of {@link ChatRoom}; every limit has a default. */
export interface ChatRoomOptions {
  /** The broker channel. Default `chat`. */
  channel?: string;
  /** Longest message accepted, in characters. Default 1 000. */
  maxMessageLength?: number;
  /** How long a long poll is held before answering an empty list, in ms. Default 30 000. */
  pollTimeout?: number;
  /** Most held connections (long polls and event streams) at once; more get 503. Default 10 000. */
  maxWaiters?: number;
  /** Messages the page and `/a/message/history` show. Default 200. */
  historyLimit?: number;
}

/** The room: its broker, channel, limits, and how many connections it holds right now. */
export class ChatRoom {
  readonly broker: Broker;
  readonly channel: string;
  readonly maxMessageLength: number;
  readonly pollTimeout: number;
  readonly maxWaiters: number;
  readonly historyLimit: number;
  /** Long polls held now. */
  polls = 0;
  /** Event streams open now. */
  streams = 0;

  constructor(broker: Broker, options: ChatRoomOptions = {}) {
    this.broker = broker;
    this.channel = options.channel ?? 'chat';
    this.maxMessageLength = options.maxMessageLength ?? 1000;
    this.pollTimeout = options.pollTimeout ?? 30_000;
    this.maxWaiters = options.maxWaiters ?? 10_000;
    this.historyLimit = options.historyLimit ?? 200;
  }

  /** Connections held now (each costs a socket and some memory, hence `maxWaiters`). */
  get waiting(): number {
    return this.polls + this.streams;
  }

  /** Publish a message; resolves with it as the page will see it. */
  async post(body: string, author: string | null): Promise<ChatMessage> {
    const publication = await this.broker.publish(this.channel, { body, author });
    return toMessage(publication)!;
  }

  /** The last `historyLimit` messages, oldest first, and the position to resume after them. */
  async recent(): Promise<{ messages: ChatMessage[]; position: string }> {
    const { broker, channel } = this;
    for (let attempt = 1; ; attempt++) {
      const latest = (await broker.history(channel, { limit: 0 })).position;
      const offset = Math.max(0, latest.offset - this.historyLimit);
      const result = await broker.history(channel, { since: { offset, epoch: latest.epoch } });
      // Not recovered: the epoch changed between the two reads (Redis lost its data); again.
      if (result.recovered || attempt === 2) {
        const position = formatPosition(result.position);
        return { messages: toMessages(result.publications), position };
      }
    }
  }
}

/**
 * A publication as a chat message, or null when its data is not one (anyone sharing the
 * broker could publish to the channel: the page is never handed something it cannot show).
 */
export function toMessage(publication: Publication): ChatMessage | null {
  const data = publication.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
  const { body, author } = data;
  if (typeof body !== 'string' || (author !== null && typeof author !== 'string')) return null;
  return {
    position: formatPosition(publication),
    offset: publication.offset,
    body,
    author,
    time: publication.time,
  };
}

/** The chat messages among `publications`, in order. */
export function toMessages(publications: readonly Publication[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const publication of publications) {
    const message = toMessage(publication);
    if (message !== null) out.push(message);
  }
  return out;
}
