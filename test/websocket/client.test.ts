// websocketConnect: failed and timed-out connections, bad URLs, and wss.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HTTPClientError } from '../../src/errors.ts';
import { accessLog } from '../../src/log.ts';
import { genTest, expectLog, startTestServer } from '../../src/testing.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { websocketConnect } from '../../src/websocket/index.ts';
import { serveApp, withTestServer, wsUrl } from '../helpers/server.ts';
import { EchoHandler } from '../helpers/websocket.ts';

describe('websocketConnect', () => {
  test(
    'a failed connection rejects with HTTPClientError: the status, or 599',
    genTest(async () => {
      // The port of a server that was closed: nothing listens there any more.
      const port = await withTestServer(new Application([['/ws', EchoHandler]]), async (srv) => {
        await expectLog(accessLog, /^404 GET \/nowhere/, async () => {
          const error = await websocketConnect(wsUrl(srv, '/nowhere')).then(
            () => assert.fail('connected'),
            (e: unknown) => e,
          );
          assert.ok(error instanceof HTTPClientError);
          assert.equal(error.code, 404);
        });
        return srv.port;
      });
      const refused = await websocketConnect(`ws://127.0.0.1:${port}/ws`).then(
        () => assert.fail('connected'),
        (e: unknown) => e,
      );
      assert.ok(refused instanceof HTTPClientError);
      assert.equal(refused.code, 599);
    }),
  );

  test(
    'connectTimeout gives up on a server that never answers',
    genTest(async () => {
      // A handler that takes the upgrade over and never answers it.
      class Silent extends RequestHandler {
        override get(): unknown {
          const raw = this.request.connection!.detach();
          silent.push(raw.socket);
          this.autoFinish = false;
          return undefined;
        }
      }
      const silent: Array<{ destroy(): void }> = [];
      const srv = await serveApp([['/', Silent]]);
      try {
        const error = await websocketConnect(wsUrl(srv, '/'), { connectTimeout: 100 }).then(
          () => assert.fail('connected'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof HTTPClientError);
        assert.equal(error.code, 599);
        assert.match(error.message, /Timeout while connecting/);
      } finally {
        for (const socket of silent) socket.destroy();
        await srv.close();
      }
    }),
  );

  test(
    'websocketConnect rejects a URL it cannot use',
    genTest(async () => {
      await assert.rejects(websocketConnect('ftp://127.0.0.1/x'), SyntaxError);
    }),
  );
});

describe('wss', () => {
  test(
    'a WebSocket over TLS, with caCerts and validateCert',
    genTest(async () => {
      const fixture = (name: string) =>
        readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));
      class NoDelay extends EchoHandler {
        override open(): void {
          this.setNodelay(true);
        }
      }
      const srv = await startTestServer(new Application([['/echo', NoDelay]]), {
        sslOptions: { key: fixture('key.pem'), cert: fixture('cert.pem') },
      });
      try {
        const url = `wss://127.0.0.1:${srv.port}/echo`;
        const conn = await websocketConnect(url, { caCerts: fixture('ca.pem') });
        await conn.writeMessage('secure');
        assert.equal(await conn.readMessage(), 'secure');
        conn.close();
        const unchecked = await websocketConnect(url, { validateCert: false });
        unchecked.close();
        const refused = await websocketConnect(url).then(
          () => assert.fail('connected without trusting the CA'),
          (e: unknown) => e,
        );
        assert.ok(refused instanceof HTTPClientError);
        assert.equal(refused.code, 599);
      } finally {
        await srv.close();
      }
    }),
  );
});
