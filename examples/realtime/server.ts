/**
 * One broker channel held three ways, each resuming from a position so that a client that was
 * away gets exactly what it missed (or is told to reload, never silently left with a gap):
 *
 * - long poll: `GET /channels/NAME/poll?since=POSITION` — `broker.waitFor`: what came after
 *   `since` at once, else the next publications, else `[]` after 30 s;
 * - Server-Sent Events: `GET /channels/NAME/events` — `EventSourceHandler` + `broker.stream`
 *   from the `Last-Event-ID` the browser resends on reconnect (each event's id is its position);
 * - WebSocket: `ws://…/channels/NAME/ws/POSITION` — a `WebSocketHandler` streaming from the
 *   position in its URL.
 *
 * and `POST /channels/NAME` (a JSON body) publishes. Every message carries its position
 * (`"offset@epoch"`, `formatPosition`); a position the broker cannot resume from (older than
 * the history, from another epoch, or not a position) gets `{"reload": true, "position": …}`
 * — in the poll's answer, as a `reload` event, or as the WebSocket's last message before it
 * closes with 4000.
 *
 * Run it: `node examples/realtime/server.ts [PORT]` (default 8888), with one process and a
 * `MemoryBroker`; `--redis-url=redis://127.0.0.1:6379` shares the channels through Redis
 * instead, so several copies (on several ports or machines) serve the same channels:
 *
 *     curl -N localhost:8888/channels/news/events &
 *     curl -d '{"title": "hello"}' localhost:8888/channels/news
 *
 * Tornado: none (Tornado leaves cross-process messaging to the application).
 */
import {
  BrokerRecoveryError,
  MemoryBroker,
  RedisBroker,
  formatPosition,
  parsePosition,
  type Broker,
  type Publication,
  type StreamPosition,
} from '../../src/broker/index.ts';
import { HTTPError } from '../../src/errors.ts';
import {
  Application,
  EventSourceHandler,
  RequestHandler,
  type ServerSentEvent,
} from '../../src/web/index.ts';
import { WebSocketHandler } from '../../src/websocket/index.ts';

/** How a publication goes to a client: its position and its data. */
export interface WireMessage {
  position: string;
  data: unknown;
}

const wire = (publication: Publication): WireMessage => ({
  position: formatPosition(publication),
  data: publication.data,
});

/** A position from the client, or `undefined` when it is not one (the client must reload). */
function sinceOf(raw: string | null | undefined): StreamPosition | null | undefined {
  if (raw === null || raw === undefined || raw === '') return null;
  try {
    return parsePosition(raw);
  } catch {
    return undefined;
  }
}

/** Base of the HTTP handlers: the broker, from the route's init arguments. */
class ChannelHandler extends RequestHandler {
  protected broker!: Broker;

  override initialize(broker: Broker): void {
    this.broker = broker;
  }
}

/** `POST /channels/NAME` with a JSON body: publish it; answers `{position}`. */
export class PublishHandler extends ChannelHandler {
  override async post(channel: string): Promise<void> {
    let data: unknown;
    try {
      data = JSON.parse(this.request.body.toString('utf8'));
    } catch {
      throw new HTTPError(400, 'the body must be JSON');
    }
    const publication = await this.broker.publish(channel, data);
    this.write({ position: formatPosition(publication) });
  }
}

/** `GET /channels/NAME/poll?since=POSITION`: the long poll (`broker.waitFor`). */
export class PollHandler extends ChannelHandler {
  override async get(channel: string): Promise<void> {
    const since = sinceOf(this.getQueryArgument('since', null));
    if (since === undefined) {
      this.write({ reload: true, position: null, messages: [] });
      return;
    }
    try {
      const publications = await this.broker.waitFor(channel, since, {
        timeout: 30_000,
        signal: this.signal, // the client left: stop waiting
      });
      this.write({ messages: publications.map(wire) });
    } catch (error) {
      if (!(error instanceof BrokerRecoveryError)) throw error;
      this.write({ reload: true, position: formatPosition(error.position), messages: [] });
    }
  }
}

// One function shared by every client, so each publication is encoded once per process.
function publicationEvent(pub: Publication): ServerSentEvent {
  return { id: formatPosition(pub), data: pub.data };
}

/** `GET /channels/NAME/events`: Server-Sent Events from `Last-Event-ID`. */
export class EventsHandler extends EventSourceHandler {
  protected broker!: Broker;

  override initialize(broker: Broker): void {
    this.broker = broker;
  }

  override async get(channel: string): Promise<void> {
    const since = sinceOf(this.lastEventId);
    if (since === undefined) {
      await this.sendEvent({ event: 'reload', data: { position: null } });
      return;
    }
    try {
      // Ends when the client leaves; pushed to the socket, no promise per event.
      await this.relay(this.broker.stream(channel, { since }), publicationEvent);
    } catch (error) {
      if (!(error instanceof BrokerRecoveryError)) throw error;
      await this.sendEvent({ event: 'reload', data: { position: formatPosition(error.position) } });
    }
  }
}

/** `ws://…/channels/NAME/ws/POSITION`: a WebSocket streaming from the position in its URL. */
export class ChannelSocket extends WebSocketHandler {
  protected broker!: Broker;
  readonly #stop = new AbortController();

  override initialize(broker: Broker): void {
    this.broker = broker;
  }

  override open(channel: string, position?: string): void {
    void this.#pump(channel, sinceOf(position));
  }

  override onClose(): void {
    this.#stop.abort(); // ends the stream: nothing is kept for a client that left
  }

  async #pump(channel: string, since: StreamPosition | null | undefined): Promise<void> {
    try {
      if (since === undefined) {
        await this.#reload(null);
        return;
      }
      const signal = this.#stop.signal;
      for await (const pub of this.broker.stream(channel, { since, signal })) {
        // Awaited: a client that reads slowly slows its own stream (within the write bound).
        await this.writeMessage(JSON.stringify(wire(pub)));
      }
    } catch (error) {
      if (error instanceof BrokerRecoveryError) await this.#reload(formatPosition(error.position));
      // Otherwise the socket closed under us (a write rejected) or the stream was aborted:
      // onClose has run, there is nobody to tell.
    }
  }

  async #reload(position: string | null): Promise<void> {
    await this.writeMessage(JSON.stringify({ reload: true, position }));
    this.close(4000, 'reload');
  }
}

const NAME = '([a-z0-9][a-z0-9-]{0,63})';

/**
 * The application, on `broker`.
 *
 * @example
 * ```ts
 * await makeApp(new MemoryBroker()).listen(8888);
 * ```
 */
export function makeApp(broker: Broker): Application {
  return new Application([
    [`/channels/${NAME}`, PublishHandler, broker],
    [`/channels/${NAME}/poll`, PollHandler, broker],
    [`/channels/${NAME}/events`, EventsHandler, broker],
    [`/channels/${NAME}/ws(?:/([^/]+))?`, ChannelSocket, broker],
  ]);
}

if (import.meta.filename === process.argv[1]) {
  const args = process.argv.slice(2);
  const redisUrl = args.find((a) => a.startsWith('--redis-url='))?.slice('--redis-url='.length);
  const port = Number(args.find((a) => /^\d+$/.test(a)) ?? 8888);
  const broker = redisUrl ? new RedisBroker({ url: redisUrl }) : new MemoryBroker();
  const server = await makeApp(broker).listen(port, '127.0.0.1');
  const base = `127.0.0.1:${server.address()!.port}`;
  console.log(`POST http://${base}/channels/NAME publishes; hold the channel with:`);
  console.log(`  GET http://${base}/channels/NAME/poll?since=POSITION`);
  console.log(`  GET http://${base}/channels/NAME/events (Server-Sent Events)`);
  console.log(`  ws://${base}/channels/NAME/ws/POSITION`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void server
        .stop({ drainTimeout: 1000 })
        .then(() => broker.close())
        .then(() => {
          console.log('stopped');
          process.exit(0);
        });
    });
  }
}
