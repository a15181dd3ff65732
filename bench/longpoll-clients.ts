/**
 * A crowd of long-poll clients for the long-poll benchmark and the demo's tests: N raw TCP
 * connections to 127.0.0.1, each sending one `GET` with `Connection: close` and waiting for
 * its answer. Raw sockets keep the client side cheap (10 000 of them fit in one process) and
 * make "complete answer" unambiguous: the server closes the connection after the response.
 *
 * Typical use — the "come and go" check:
 *
 * ```ts
 * const crowd = await LongPollCrowd.open({ port, path: '/poll', count: 10_000 });
 * await waitFor(async () => (await stats()).waiters === 10_000);   // all held
 * const gone = crowd.dropHalf();                                     // half go away
 * await waitFor(async () => (await stats()).waiters === 10_000 - gone);
 * await publish();                                                   // the rest get answers
 * const outcome = await crowd.settle({ timeoutMs: 30_000, expect: /published/ });
 * // outcome.answered === 5_000, outcome.failed === 0, outcome.hanging === 0
 * ```
 */
import * as net from 'node:net';

/** Options of {@link LongPollCrowd.open}. */
export interface CrowdOptions {
  port: number;
  host?: string;
  /** Request target of every poll, e.g. `/poll` or `/a/message/updates?cursor=3`. */
  path: string;
  count: number;
  /** Connections being opened at once; bounded so the server's accept backlog never overflows. Default 200. */
  connectConcurrency?: number;
  /** Give up opening after this long. Default 60 000 ms. */
  connectTimeoutMs?: number;
}

/** What became of the clients that stayed, after {@link LongPollCrowd.settle}. */
export interface CrowdOutcome {
  /** Clients that stayed (were not dropped). */
  stayed: number;
  /** Got a complete `200` answer matching `expect`. */
  answered: number;
  /** Got something else: another status, a non-matching body, a reset. */
  failed: number;
  /** Still waiting at the deadline. */
  hanging: number;
  /** One example of a failure, for the report. */
  firstFailure?: string;
}

interface Client {
  socket: net.Socket;
  chunks: Buffer[];
  ended: boolean;
  dropped: boolean;
  error?: Error;
  onEnd?: () => void;
}

/** A set of long-poll clients. */
export class LongPollCrowd {
  readonly #clients: Client[];

  private constructor(clients: Client[]) {
    this.#clients = clients;
  }

  /** Open `count` connections and send each its poll request. Resolves once all are sent. */
  static async open(options: CrowdOptions): Promise<LongPollCrowd> {
    const host = options.host ?? '127.0.0.1';
    const request = Buffer.from(
      `GET ${options.path} HTTP/1.1\r\nHost: ${host}:${options.port}\r\nConnection: close\r\n\r\n`,
    );
    const clients: Client[] = [];
    const crowd = new LongPollCrowd(clients);
    const concurrency = options.connectConcurrency ?? 200;
    const deadline = Date.now() + (options.connectTimeoutMs ?? 60_000);
    let next = 0;
    let failed = false;
    const openOne = () =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect({ port: options.port, host });
        const client: Client = { socket, chunks: [], ended: false, dropped: false };
        clients.push(client);
        socket.on('data', (chunk: Buffer) => client.chunks.push(chunk));
        socket.on('end', () => {
          client.ended = true;
          socket.end();
          client.onEnd?.();
        });
        socket.on('close', () => {
          if (!client.ended && !client.dropped) client.error ??= new Error('closed without FIN');
          client.ended = true;
          client.onEnd?.();
        });
        socket.on('error', (error) => {
          client.error = error;
        });
        socket.once('connect', () => {
          socket.write(request);
          resolve();
        });
        socket.once('error', reject);
      });
    const worker = async () => {
      while (next < options.count && !failed) {
        if (Date.now() > deadline)
          throw new Error(`opened only ${next} of ${options.count} connections in time`);
        next++;
        await openOne();
      }
    };
    try {
      await Promise.all(
        Array.from({ length: Math.min(concurrency, options.count) }, async () => {
          try {
            await worker();
          } catch (error) {
            failed = true;
            throw error;
          }
        }),
      );
    } catch (error) {
      crowd.destroy();
      throw error;
    }
    return crowd;
  }

  /** Number of clients. */
  get size(): number {
    return this.#clients.length;
  }

  /** Clients that already got an answer or lost their connection (should be 0 while held). */
  get finishedEarly(): number {
    return this.#clients.filter((c) => !c.dropped && (c.ended || c.chunks.length > 0)).length;
  }

  /** Abruptly close every second client (as a browser tab going away); returns how many. */
  dropHalf(): number {
    let dropped = 0;
    for (let i = 1; i < this.#clients.length; i += 2) {
      const client = this.#clients[i]!;
      client.dropped = true;
      client.socket.destroy();
      dropped++;
    }
    return dropped;
  }

  /**
   * Wait until every client that stayed has its answer, or the deadline passes; then classify
   * them. A complete answer is a `200` whose body matches `expect`.
   */
  async settle(options: { timeoutMs: number; expect: RegExp }): Promise<CrowdOutcome> {
    const stayed = this.#clients.filter((c) => !c.dropped);
    await new Promise<void>((resolve) => {
      let pending = stayed.filter((c) => !c.ended).length;
      if (pending === 0) {
        resolve();
        return;
      }
      const timer = setTimeout(resolve, options.timeoutMs);
      for (const client of stayed) {
        if (client.ended) continue;
        client.onEnd = () => {
          client.onEnd = undefined;
          if (--pending === 0) {
            clearTimeout(timer);
            resolve();
          }
        };
      }
    });
    const outcome: CrowdOutcome = { stayed: stayed.length, answered: 0, failed: 0, hanging: 0 };
    for (const client of stayed) {
      if (!client.ended) {
        outcome.hanging++;
        continue;
      }
      const text = Buffer.concat(client.chunks).toString('latin1');
      const [head = '', body = ''] = splitOnce(text, '\r\n\r\n');
      if (
        client.error === undefined &&
        /^HTTP\/1\.1 200 /.test(head) &&
        options.expect.test(body)
      ) {
        outcome.answered++;
      } else {
        outcome.failed++;
        outcome.firstFailure ??= client.error ? String(client.error) : text.slice(0, 300);
      }
    }
    return outcome;
  }

  /** Close every connection. */
  destroy(): void {
    for (const client of this.#clients) {
      client.dropped = true;
      client.socket.destroy();
    }
  }
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** Poll `predicate` every `intervalMs` until it is true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  predicate: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
