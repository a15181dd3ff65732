// Hostile and malformed input, sent as raw bytes over a socket. For each: the right status,
// exactly one log line, and the server still serves the next request.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { startTestServer, expectLog, type TestServer } from '../../src/testing.ts';
import { accessLog } from '../../src/log.ts';
import { HTTPServer } from '../../src/httpserver/index.ts';
import {
  captureLogs,
  get,
  parseResponses,
  pathLengthDelegate,
  sendRaw,
} from '../helpers/raw-http.ts';
import { withTestServer } from '../helpers/server.ts';

let handlerRuns = 0;

class Echo extends RequestHandler {
  override get(...args: Array<string | undefined>) {
    handlerRuns++;
    this.write({ path: this.request.path, args, host: this.request.host });
  }
  override post() {
    handlerRuns++;
    this.write({ length: this.request.body.length, args: Object.keys(this.request.bodyArguments) });
  }
}

let srv: TestServer;

before(async () => {
  srv = await startTestServer(new Application([['/(.*)', Echo]]), {
    maxBodySize: 1000,
    decompressRequest: true,
  });
});

after(async () => {
  await srv.close();
});

async function stillServes(): Promise<void> {
  const res = await sendRaw(srv.port, get('/alive'));
  const [parsed] = parseResponses(res.text);
  assert.equal(parsed?.status, 200, 'server keeps serving');
}

/** Send `bytes`, expect `status` and one genLog record, and check the server still serves. */
async function expectRefusal(
  bytes: string | Array<string | number>,
  status: number,
  reason: RegExp,
) {
  const runsBefore = handlerRuns;
  const [result, records] = await captureLogs('gen', () => sendRaw(srv.port, bytes));
  const [parsed] = parseResponses(result.text);
  assert.equal(parsed?.status, status, `got ${JSON.stringify(result.text.slice(0, 200))}`);
  assert.equal(records.length, 1, records.map((r) => r.message).join(' | '));
  assert.match(records[0]!.message, reason);
  assert.equal(handlerRuns, runsBefore, 'the handler never ran');
  await stillServes();
  return result;
}

describe('malformed requests get a bare 400 and the connection is closed', () => {
  for (const [name, bytes] of [
    ['garbage request line', 'GARBAGE\r\n\r\n'],
    ['header without colon', 'GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'],
    ['bad HTTP version', 'GET / HTTP/9.Z\r\nHost: x\r\n\r\n'],
    ['Content-Length +3', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc'],
    [
      'two Content-Lengths',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    ],
    [
      'Content-Length with chunked',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    ],
    [
      'bad chunk size',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    ],
  ] as const) {
    test(name, async () => {
      const result = await expectRefusal(bytes, 400, /Malformed HTTP message from 127\.0\.0\.1/);
      assert.ok(result.text.startsWith('HTTP/1.1 400 Bad Request\r\n'));
      assert.ok(result.closedByServer, 'connection closed');
    });
  }
});

describe('headers', () => {
  test('a head over maxHeaderSize gets 431', async () => {
    await expectRefusal(get('/', { 'X-Big': 'a'.repeat(70_000) }), 431, /Malformed HTTP message/);
  });

  test('more than 100 small header lines get 431 (a Content-Length cannot hide among them)', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 150; i++) many[`X-H${i}`] = 'y';
    await expectRefusal(get('/', many), 431, /Malformed HTTP message/);
    const ok: Record<string, string> = {};
    for (let i = 0; i < 90; i++) ok[`X-H${i}`] = 'y';
    const res = await sendRaw(srv.port, get('/', ok));
    assert.equal(parseResponses(res.text)[0]?.status, 200);
  });

  test('a duplicate Host gets 400', async () => {
    await expectRefusal(
      'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n',
      400,
      /duplicate Host/,
    );
    // Spelled differently, it is the same header.
    await expectRefusal(
      'GET / HTTP/1.1\r\nhost: a\r\nHOST: b\r\nConnection: close\r\n\r\n',
      400,
      /duplicate Host/,
    );
  });

  test('a Host with whitespace or junk gets 400', async () => {
    await expectRefusal(
      'GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n',
      400,
      /malformed Host/,
    );
    await expectRefusal(
      'GET / HTTP/1.1\r\nHost: a/b@c\r\nConnection: close\r\n\r\n',
      400,
      /malformed Host/,
    );
  });

  test('__proto__ and constructor as header names harm nothing', async () => {
    const res = await sendRaw(srv.port, get('/', { __proto__: 'x', constructor: 'y' }));
    assert.equal(parseResponses(res.text)[0]?.status, 200);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});

describe('Transfer-Encoding', () => {
  for (const te of ['gzip, chunked', 'chunked, chunked', 'identity']) {
    test(`${te} is refused with 400`, async () => {
      const body = te === 'identity' ? '' : '3\r\nabc\r\n0\r\n\r\n';
      await expectRefusal(
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\nConnection: close\r\n\r\n${body}`,
        400,
        /Transfer-Encoding|Malformed/,
      );
    });
  }

  test('a lone chunked is fine', async () => {
    const res = await sendRaw(
      srv.port,
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
    );
    assert.deepEqual(JSON.parse(parseResponses(res.text)[0]!.body), { length: 5, args: [] });
  });
});

describe('body size', () => {
  test('a declared body over maxBodySize gets 413 before the handler runs', async () => {
    await expectRefusal(
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n',
      413,
      /Content-Length 5000 over the limit/,
    );
  });

  test('a chunked body over maxBodySize gets 413: bytes are counted', async () => {
    const chunk = 'a'.repeat(600);
    await expectRefusal(
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n0\r\n\r\n`,
      413,
      /body over the limit/,
    );
  });

  test('a gzip body that inflates past maxBodySize gets 413', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50_000));
    const head = `POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`;
    await expectRefusal([head + bomb.toString('latin1')], 413, /decompressed body over the limit/);
  });

  test('a gzip body under the limit arrives decompressed', async () => {
    const body = zlib.gzipSync(Buffer.from('a=1&b=2'));
    const head = `POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const res = await sendRaw(srv.port, head + body.toString('latin1'));
    assert.deepEqual(JSON.parse(parseResponses(res.text)[0]!.body), {
      length: 7,
      args: ['a', 'b'],
    });
  });

  test('Expect: 100-continue over the limit gets 413 and never a 100', async () => {
    const result = await expectRefusal(
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n',
      413,
      /over the limit/,
    );
    assert.doesNotMatch(result.text, /100 Continue/);
  });

  test('Expect: 100-continue under the limit gets a 100 then the answer', async () => {
    const res = await sendRaw(srv.port, [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
      50,
      'abc',
    ]);
    assert.match(res.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
  });
});

describe('targets and arguments', () => {
  test('absolute-form targets are routed on their path only', async () => {
    const res = await sendRaw(
      srv.port,
      'GET http://evil.example/x/y?z=1 HTTP/1.1\r\nHost: good\r\nConnection: close\r\n\r\n',
    );
    const body = JSON.parse(parseResponses(res.text)[0]!.body) as { path: string; host: string };
    assert.equal(body.path, '/x/y');
    assert.equal(body.host, 'good');
  });

  test('a //host/... target stays a path and never becomes a Location', async () => {
    const res = await sendRaw(srv.port, get('//evil.example/x'));
    const [parsed] = parseResponses(res.text);
    assert.equal(parsed?.headers.location, undefined);
    assert.equal((JSON.parse(parsed!.body) as { path: string }).path, '//evil.example/x');
  });

  test('invalid percent-encoding in the path or a query argument is a 400, not a 500', async () => {
    await expectLog(accessLog, /^400/, async () => {
      const [, records] = await captureLogs('gen', async () => {
        for (const path of ['/%zz', '/%E0%A4%A', '/ok?a=%G1&b']) {
          const res = await sendRaw(srv.port, get(path));
          assert.equal(parseResponses(res.text)[0]?.status, path.includes('?') ? 200 : 400, path);
        }
      });
      assert.equal(records.filter((r) => r.level === 'warning').length, 2);
    });
    class Q extends RequestHandler {
      override get() {
        this.write(this.getArgument('a'));
      }
    }
    await withTestServer(new Application([['/', Q]]), async (other) => {
      await expectLog(accessLog, /^400/, async () => {
        await captureLogs('gen', async () => {
          const res = await sendRaw(other.port, get('/?a=%G1'));
          assert.equal(parseResponses(res.text)[0]?.status, 400);
        });
      });
    });
  });

  test('more than 1000 query or form fields get 400', async () => {
    class Q extends RequestHandler {
      override get() {
        this.write(String(this.getArguments('a').length));
      }
      override post() {
        this.write(String(this.getBodyArguments('a').length));
      }
    }
    await withTestServer(
      new Application([['/', Q]]),
      async (other) => {
        const ok = await other.fetch('/?' + 'a=1&'.repeat(1000));
        assert.equal(await ok.text(), '1000');
        await expectLog(accessLog, /^400/, async () => {
          await captureLogs('gen', async () => {
            const res = await other.fetch('/?' + 'a=1&'.repeat(1001));
            assert.equal(res.status, 400);
            const form = await other.fetch('/', {
              method: 'POST',
              headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
              body: 'a=1&'.repeat(1001),
            });
            assert.equal(form.status, 400);
          });
        });
      },
      { maxBodySize: 100_000 },
    );
  });
});

describe('timeouts', () => {
  test('headers slower than headerTimeout get 408', async () => {
    await withTestServer(
      new Application([['/', Echo]]),
      async (slow) => {
        const [result, records] = await captureLogs('gen', () =>
          sendRaw(slow.port, ['GET / HTTP/1.1\r\nHost: x\r\n', 1500], { timeout: 3000 }),
        );
        assert.match(result.text, /^HTTP\/1\.1 408 /);
        assert.equal(records.length, 1);
      },
      { headerTimeout: 200 },
    );
  });

  test('a body slower than bodyTimeout gets 408', async () => {
    await withTestServer(
      new Application([['/', Echo]]),
      async (slow) => {
        const [result, records] = await captureLogs('gen', () =>
          sendRaw(
            slow.port,
            ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', 1000],
            {
              timeout: 3000,
            },
          ),
        );
        assert.match(result.text, /^HTTP\/1\.1 408 /);
        assert.equal(records.length, 1);
        assert.match(records[0]!.message, /Timeout reading request body/);
      },
      { bodyTimeout: 150 },
    );
  });

  test('an idle keep-alive connection is closed after idleConnectionTimeout', async () => {
    await withTestServer(
      new Application([['/(.*)', Echo]]),
      async (idle) => {
        const started = performance.now();
        const result = await sendRaw(idle.port, get('/', {}, false), { timeout: 3000 });
        assert.equal(parseResponses(result.text)[0]?.status, 200);
        assert.ok(result.closedByServer, 'server closed the idle connection');
        assert.ok(performance.now() - started < 2500);
      },
      {
        idleConnectionTimeout: 150,
      },
    );
  });
});

test('a per-request body limit never leaks into the next keep-alive request', async () => {
  // A delegate that raises the limit for /big only, before the body is read.
  const delegate = pathLengthDelegate((r, connection) => {
    if (r.path === '/big') connection.setMaxBodySize(5000);
  });
  const server = new HTTPServer(delegate, { maxBodySize: 1000 });
  const port = await server.listen(0, '127.0.0.1');
  try {
    const body = 'x'.repeat(1500);
    const big = `POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const small = `POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const [result, records] = await captureLogs('gen', () => sendRaw(port, [big, 100, small]));
    const responses = parseResponses(result.text);
    assert.deepEqual(
      responses.map((r) => [r.status, r.body]),
      [
        [200, '/big 1500'],
        [413, ''],
      ],
    );
    assert.equal(records.length, 1);
  } finally {
    await server.stop();
  }
});
