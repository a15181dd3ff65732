/**
 * The typhoon handler the SSE benchmarks hold, written as a user would write it: an
 * `EventSourceHandler` that streams a broker channel from the client's `Last-Event-ID`, each
 * publication encoded once for all the clients of a process (`encodeOnce`), and a `reset`
 * event instead of a silent gap when the position cannot be resumed.
 *
 * It ends its stream from `onConnectionClose()` instead of passing `signal` to the broker: the
 * close notice is there anyway, and an `AbortSignal` per held connection costs about a kilobyte.
 */
import {
  BrokerRecoveryError,
  formatPosition,
  parsePosition,
  type Broker,
  type Publication,
  type StreamPosition,
} from '../../src/broker/index.ts';
import { EventSourceHandler } from '../../src/web/index.ts';

/** A handler class streaming `broker`'s channel named by the route's first group. */
export function brokerEvents(broker: Broker): typeof EventSourceHandler {
  return class Events extends EventSourceHandler {
    #stream: AsyncIterableIterator<Publication> | undefined;

    override async get(channel: string): Promise<void> {
      let since: StreamPosition | null = null;
      const last = this.lastEventId;
      if (last !== null) {
        try {
          since = parsePosition(last);
        } catch {
          await this.sendEvent({ event: 'reset', data: 'unreadable Last-Event-ID' });
          return;
        }
      }
      const stream = broker.stream(channel, { since });
      this.#stream = stream;
      try {
        for await (const pub of stream) {
          await this.sendEncoded(
            EventSourceHandler.encodeOnce(pub, () => ({ id: formatPosition(pub), data: pub.data })),
          );
        }
      } catch (error) {
        if (!(error instanceof BrokerRecoveryError)) throw error;
        // The page must reload its state: tell it so, never a silent gap.
        await this.sendEvent({ event: 'reset', data: error.message });
      }
    }

    override onConnectionClose(): void {
      void this.#stream?.return?.();
    }
  };
}
