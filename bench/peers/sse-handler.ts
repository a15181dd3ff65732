/**
 * The typhoon handler the SSE benchmarks hold, written as a user would write it: an
 * `EventSourceHandler` that relays a broker channel from the client's `Last-Event-ID`, each
 * publication encoded once for all the clients of a process (one shared `toEvent`), and a
 * `reset` event instead of a silent gap when the position cannot be resumed.
 */
import {
  BrokerRecoveryError,
  formatPosition,
  parsePosition,
  type Broker,
  type Publication,
  type StreamPosition,
} from '../../src/broker/index.ts';
import { EventSourceHandler, type ServerSentEvent } from '../../src/web/index.ts';

// One function for every client, so each publication is encoded once per process.
function toEvent(pub: Publication): ServerSentEvent {
  return { id: formatPosition(pub), data: pub.data };
}

/** A handler class streaming `broker`'s channel named by the route's first group. */
export function brokerEvents(broker: Broker): typeof EventSourceHandler {
  return class Events extends EventSourceHandler {
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
      try {
        await this.relay(broker.stream(channel, { since }), toEvent);
      } catch (error) {
        if (!(error instanceof BrokerRecoveryError)) throw error;
        // The page must reload its state: tell it so, never a silent gap.
        await this.sendEvent({ event: 'reset', data: error.message });
      }
    }
  };
}
