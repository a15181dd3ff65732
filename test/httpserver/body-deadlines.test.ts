// bodyTimeout behind one timer per server (BodyDeadlines): each slow body still gets its 408
// at its own deadline, a body that completes leaves the list without disturbing the others,
// and a request whose delegate set its own bodyTimeout is timed on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { HTTPServer } from '../../src/httpserver/index.ts';
import { captureLogs, pathLengthDelegate } from '../helpers/raw-http.ts';

/** Answers every request with `PATH LENGTH`; `/short` asks for a 100 ms body timeout. */
const delegate = pathLengthDelegate((r, connection) => {
  if (r.path === '/short') connection.setBodyTimeout(100);
});

/**
 * Send a request's head and `sent` of its 10 body bytes at `delayMs` after now (the rest at
 * `completeAtMs`, if given); resolves with the status line and how long after the head the
 * answer came.
 */
function slowPost(
  port: number,
  path: string,
  delayMs: number,
  completeAtMs?: number,
): Promise<{ status: string; afterMs: number }> {
  return new Promise((resolve, reject) => {
    setTimeout(() => {
      const socket = net.connect(port, '127.0.0.1');
      let sentAt = 0;
      let text = '';
      socket.on('connect', () => {
        sentAt = performance.now();
        socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`);
        if (completeAtMs !== undefined) setTimeout(() => socket.write('defghij'), completeAtMs);
      });
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (!text.includes('\r\n\r\n')) return;
        resolve({
          status: text.slice(0, text.indexOf('\r\n')),
          afterMs: performance.now() - sentAt,
        });
        socket.destroy();
      });
      socket.on('error', reject);
    }, delayMs);
  });
}

test('slow bodies each get 408 at their own deadline, behind one timer', async () => {
  const server = new HTTPServer(delegate, { bodyTimeout: 300 });
  const port = await server.listen(0, '127.0.0.1');
  try {
    const [results, records] = await captureLogs('gen', () =>
      Promise.all([
        slowPost(port, '/a', 0),
        // Completes in the middle of the list: unlinked, the others keep their deadlines.
        slowPost(port, '/done', 50, 50),
        slowPost(port, '/b', 150),
        // Its own timer, shorter than the server's: due before /a although it came later.
        slowPost(port, '/short', 100),
      ]),
    );
    const [a, done, b, short] = results;
    assert.equal(done!.status, 'HTTP/1.1 200 OK');
    for (const [result, due] of [
      [a!, 300],
      [b!, 300],
      [short!, 100],
    ] as const) {
      assert.match(result.status, /^HTTP\/1\.1 408 /);
      // Never early; late by at most a timer's tick plus this machine's scheduling.
      assert.ok(result.afterMs >= due - 5, `408 after ${result.afterMs} ms, due at ${due}`);
      assert.ok(result.afterMs < due + 400, `408 after ${result.afterMs} ms, due at ${due}`);
    }
    assert.equal(records.filter((r) => /Timeout reading request body/.test(r.message)).length, 3);
  } finally {
    await server.stop();
  }
});
