/**
 * The chat's memory: the last `maxHistory` messages and the long-poll requests waiting for
 * the next one. A poll asks for the messages after its cursor (the id of the last message it
 * has); if there are none it waits on a typhoon {@link Condition} until a message arrives,
 * its timeout passes, or its browser goes away (the handler then cancels the wait).
 *
 * Ids are consecutive integers starting at 1, so "newer than the cursor" is one comparison,
 * and a cursor from before a server restart (larger than any id we have) or from a client
 * that fell behind the bounded history simply gets everything we still hold.
 */
import type { Future } from '../../src/concurrent.ts';
import { Condition } from '../../src/locks.ts';

/** One chat message as stored and as sent to browsers (as JSON; pages render it as text). */
export interface ChatMessage {
  /** Consecutive from 1; the cursor of the next poll. */
  id: number;
  body: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** Who wrote it; `null` until sign-in exists (issue 6 fills it from the signed cookie). */
  author: string | null;
}

/** Options of {@link MessageBuffer}. */
export interface MessageBufferOptions {
  /** Messages kept for late joiners and reconnecting pages. Default 200. */
  maxHistory?: number;
}

/**
 * Bounded message history plus the waiters of the long-poll requests.
 *
 * @example
 * ```ts
 * const buffer = new MessageBuffer({ maxHistory: 200 });
 * const arrived = buffer.waitForMessage(30_000); // Future<boolean>
 * buffer.add('hello');                            // arrived resolves true
 * buffer.since(0);                                // [{ id: 1, body: 'hello', … }]
 * ```
 * Tornado demo: `MessageBuffer` of `demos/chat/chatdemo.py`.
 */
export class MessageBuffer {
  readonly maxHistory: number;
  readonly #messages: ChatMessage[] = [];
  readonly #arrived = new Condition();
  #nextId = 1;
  #waiting = 0;

  constructor(options: MessageBufferOptions = {}) {
    const maxHistory = options.maxHistory ?? 200;
    if (!Number.isInteger(maxHistory) || maxHistory < 1) {
      throw new RangeError(`maxHistory must be a positive integer, got ${String(maxHistory)}`);
    }
    this.maxHistory = maxHistory;
  }

  /** Store a message, drop the oldest past `maxHistory`, and wake every waiting poll. */
  add(body: string, author: string | null = null): ChatMessage {
    const message: ChatMessage = { id: this.#nextId++, body, time: Date.now(), author };
    this.#messages.push(message);
    if (this.#messages.length > this.maxHistory) {
      this.#messages.splice(0, this.#messages.length - this.maxHistory);
    }
    this.#arrived.notifyAll();
    return message;
  }

  /**
   * Messages newer than `cursor` (all we hold when `cursor` is null, or when it is ahead of
   * our newest id because the server restarted since the page loaded).
   */
  since(cursor: number | null): ChatMessage[] {
    const newest = this.#nextId - 1;
    if (cursor === null || cursor > newest) return this.#messages.slice();
    // Ids are consecutive, so the first newer message sits at a computable index.
    const oldest = this.#messages[0]?.id ?? this.#nextId;
    return this.#messages.slice(Math.max(0, cursor + 1 - oldest));
  }

  /** The id of the newest message, 0 if none yet. */
  get newestId(): number {
    return this.#nextId - 1;
  }

  /** Number of messages held (at most `maxHistory`). */
  get size(): number {
    return this.#messages.length;
  }

  /** Number of polls currently waiting. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Wait for the next message: the Future resolves `true` when one arrives and `false` after
   * `timeout` ms. Cancel it when the client goes away; it then stops counting as waiting.
   */
  waitForMessage(timeout?: number): Future<boolean> {
    const waiter = this.#arrived.wait(timeout === undefined ? {} : { timeout });
    this.#waiting++;
    waiter.addDoneCallback(() => {
      this.#waiting--;
    });
    return waiter;
  }
}
