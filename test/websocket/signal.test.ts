// WebSocketHandler.signal: live while the WebSocket is open (the upgrade ends the HTTP
// response, not the handler), aborted when the connection closes, so a hook waiting on it
// (a broker stream, a fetch) ends with the connection.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Future } from '../../src/concurrent.ts';
import { genTest } from '../../src/testing.ts';
import { Application } from '../../src/web/index.ts';
import {
  WebSocketHandler,
  websocketConnect,
  type WebSocketMessage,
} from '../../src/websocket/index.ts';
import { withTestServer, wsUrl } from '../helpers/server.ts';

/** A wait that only ends when `signal` aborts, as a broker's `waitFor` does. */
function waitForAbort(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve('already aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
}

describe('WebSocketHandler.signal', () => {
  test(
    'is live while open, and aborts when the client closes, ending a wait started by onMessage',
    genTest(async () => {
      const seen: string[] = [];
      const closed = new Future<void>();
      class WaitingHandler extends WebSocketHandler {
        override open(): void {
          seen.push(`open aborted=${this.signal.aborted}`);
        }
        override onMessage(message: WebSocketMessage): void {
          seen.push(`message aborted=${this.signal.aborted}`);
          // A wait in the background, as a subscription to a broker is: a hook that awaited
          // it would keep the socket paused (no frame is read while a hook is busy).
          void waitForAbort(this.signal).then((how) => {
            seen.push(`wait ${how}`);
            closed.setResult(undefined);
          });
          void this.writeMessage(`got ${String(message)}`);
        }
        override onClose(): void {
          seen.push(`close aborted=${this.signal.aborted}`);
        }
      }
      await withTestServer(new Application([['/ws', WaitingHandler]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/ws'));
        await conn.writeMessage('hi');
        assert.equal(await conn.readMessage(), 'got hi');
        conn.close();
        await closed;
      });
      assert.deepEqual(seen, [
        'open aborted=false',
        'message aborted=false',
        'close aborted=false',
        'wait aborted',
      ]);
    }),
  );

  test(
    'an idle handler: onClose runs, then the signal read in open aborts; read later it is aborted',
    genTest(async () => {
      const events: string[] = [];
      const done = new Future<void>();
      let signal: AbortSignal | undefined;
      class IdleHandler extends WebSocketHandler {
        override open(): void {
          signal = this.signal;
          signal.addEventListener('abort', () => {
            events.push('abort');
            done.setResult(undefined);
          });
        }
        override onMessage(): void {}
        override onClose(): void {
          events.push(`onClose aborted=${this.signal.aborted}`);
        }
      }
      await withTestServer(new Application([['/ws', IdleHandler]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/ws'));
        await conn.writeMessage('ping'); // the server has run open() once this is answered below
        conn.close();
        await done;
      });
      assert.deepEqual(events, ['onClose aborted=false', 'abort']);
      assert.equal(signal?.aborted, true);
    }),
  );

  test(
    'the server closing the connection aborts it too',
    genTest(async () => {
      const aborted = new Future<boolean>();
      class ClosingHandler extends WebSocketHandler {
        override open(): void {
          const signal = this.signal;
          void waitForAbort(signal).then(() => aborted.setResult(signal.aborted));
          this.close(1000, 'bye');
        }
      }
      await withTestServer(new Application([['/ws', ClosingHandler]]), async (srv) => {
        const conn = await websocketConnect(wsUrl(srv, '/ws'));
        assert.equal(await conn.readMessage(), null);
        assert.equal(await aborted, true);
      });
    }),
  );
});
