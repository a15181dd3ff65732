// Property tests (fast-check) of raw requests against a running typhoon server: whatever bytes
// a client sends, the server answers with a well-formed status line (or closes), never a 500,
// logs no error, leaves no unhandled rejection, stays up, and answers the same however the
// request is cut into TCP segments. A failure prints fast-check's seed and path; replay with
// FUZZ_SEED=<seed>. FUZZ_RUNS scales the number of runs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { addLogInterceptor, type LogRecord } from '../../src/log.ts';
import {
  RequestHandler,
  StaticFileHandler,
  type ApplicationSettings,
} from '../../src/web/index.ts';
import { createSignedValue } from '../../src/web/signed-value.ts';
import { sendRaw } from '../helpers/raw-http.ts';
import { serveApp, type TestServer } from '../helpers/server.ts';

const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);

function params(numRuns: number): fc.Parameters<unknown> {
  return {
    numRuns: Math.max(1, Math.round(numRuns * SCALE)),
    ...(SEED === undefined ? {} : { seed: SEED }),
  };
}

const SECRET = 'fuzz-cookie-secret';

/** Answers with a digest of everything it parsed, so two runs can be compared. */
class Echo extends RequestHandler {
  #describe(): void {
    const request = this.request;
    const map = (m: Record<string, Buffer[]>) =>
      Object.keys(m)
        .sort()
        .map((k) => `${k}=${m[k]!.map((b) => b.toString('latin1')).join(',')}`);
    const digest = createHash('sha256')
      .update(JSON.stringify([map(request.queryArguments), map(request.bodyArguments)]))
      .update(JSON.stringify(Object.keys(request.files).sort()))
      .update(request.body)
      .digest('hex');
    this.write({
      method: request.method,
      bodyLength: request.body.length,
      digest,
      cookies: Object.keys(request.cookies).length,
      signed: this.getSignedCookie('s'),
    });
  }
  override get(): void {
    this.#describe();
  }
  override post(): void {
    this.#describe();
  }
  override put(): void {
    this.#describe();
  }
  override delete(): void {
    this.#describe();
  }
  override patch(): void {
    this.#describe();
  }
}

// --- request grammar -------------------------------------------------------------------------

const anyBytes = (max: number) =>
  fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b).toString('latin1'));
const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);

const method = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH') },
  { weight: 2, arbitrary: fc.constantFrom('OPTIONS', 'CONNECT', 'TRACE', 'BREW', 'get', '') },
  { weight: 1, arbitrary: token },
);

const target = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      '/echo',
      '/echo?a=1&b=%FF&a=2',
      '/static/file.txt',
      '/static/../../etc/passwd',
      '/static/%2e%2e/x',
      '/static/.hidden',
      '/missing',
      '//evil.com/echo',
      '*',
      'http://127.0.0.1/echo',
      '/echo?' + 'x=1&'.repeat(50),
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map((s) => `/echo?q=${s}`) },
  { weight: 2, arbitrary: anyBytes(30).map((s) => `/${s}`) },
);

const version = fc.oneof(
  { weight: 8, arbitrary: fc.constant('HTTP/1.1') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'HTTP/1.0',
      'HTTP/2.0',
      'HTTP/0.9',
      '',
      'HTTP/1.1 x',
      'http/1.1',
      'HTTP/1.10',
    ),
  },
);

const BOUNDARY = 'fuzzB';
const header = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.constantFrom<[string, string]>(
      ['Host', '127.0.0.1'],
      ['Host', 'a'],
      ['Host', ''],
      ['Host', 'a b'],
    ),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.nat(200).map(String),
        fc.constantFrom('-1', '+3', '1e2', ' 5', '99999999999999999999', '', '0x10', '3, 3', '3,4'),
      )
      .map((v): [string, string] => ['Content-Length', v]),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(
        'chunked',
        'gzip, chunked',
        'chunked, chunked',
        'identity',
        'CHUNKED',
        'chunked ',
        'x',
      )
      .map((v): [string, string] => ['Transfer-Encoding', v]),
  },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(
        'application/x-www-form-urlencoded',
        `multipart/form-data; boundary=${BOUNDARY}`,
        'multipart/form-data',
        'multipart/form-data; boundary=',
        `multipart/form-data; boundary="${BOUNDARY}"`,
        'text/plain',
        'application/json',
      )
      .map((v): [string, string] => ['Content-Type', v]),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'a=1; b="x\\"y"',
          '__proto__=1',
          `s=${createSignedValue(SECRET, 's', 'ok', { clock: () => Date.now() })}`,
          's=2|1:0|10:1234567890|1:s|4:b2s=|deadbeef',
        ),
        anyBytes(40),
      )
      .map((v): [string, string] => ['Cookie', v]),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'bytes=0-9',
          'bytes=-5',
          'bytes=5-',
          'bytes=9-0',
          'bytes=0-0,2-3',
          'bytes=-0',
          'bytes=99999-',
        ),
        anyBytes(20),
      )
      .map((v): [string, string] => ['Range', v]),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<[string, string]>(
      ['Expect', '100-continue'],
      ['Connection', 'close'],
      ['Connection', 'keep-alive, Upgrade'],
      ['Upgrade', 'websocket'],
      ['Content-Encoding', 'gzip'],
      ['If-None-Match', '*'],
      ['If-Modified-Since', 'Thu, 01 Jan 1970 00:00:00 GMT'],
      ['X-Forwarded-For', '1.2.3.4'],
    ),
  },
  { weight: 2, arbitrary: fc.tuple(token, fc.string({ maxLength: 30 })) },
  { weight: 1, arbitrary: fc.tuple(token, anyBytes(30)) },
  { weight: 1, arbitrary: fc.tuple(anyBytes(10), anyBytes(10)) },
);

const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: anyBytes(120) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.stringMatching(/^[a-z]{1,4}$/), fc.string({ maxLength: 10 })), {
        maxLength: 5,
      })
      .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.constantFrom(
          `--${BOUNDARY}\r\n`,
          'Content-Disposition: form-data; name="a"\r\n',
          'Content-Disposition: form-data; name="f"; filename="x"\r\n',
          '\r\n',
          'value',
          `--${BOUNDARY}--\r\n`,
          '\r',
        ),
        { maxLength: 12 },
      )
      .map((p) => p.join('')),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.tuple(fc.constantFrom('%x', '%X', '0%x', '%x;ext=1', '-1', 'zz', '%x '), anyBytes(12)),
        { maxLength: 4 },
      )
      .chain((chunks) =>
        fc
          .constantFrom('0\r\n\r\n', '0\r\n', '', '0\r\nTrailer: x\r\n\r\n')
          .map(
            (end) =>
              chunks
                .map(
                  ([size, data]) =>
                    `${size.replace('%x', data.length.toString(16)).replace('%X', data.length.toString(16).toUpperCase())}\r\n${data}\r\n`,
                )
                .join('') + end,
          ),
      ),
  },
);

const hostile = fc
  .record({
    method,
    target,
    version,
    host: fc.oneof(
      { weight: 9, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    headers: fc.array(header, { maxLength: 5 }),
    body,
    eol: fc.oneof(
      { weight: 9, arbitrary: fc.constant('\r\n') },
      { weight: 1, arbitrary: fc.constant('\n') },
    ),
    withLength: fc.oneof(
      { weight: 4, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
  })
  .map(({ method, target, version, host, headers, body, eol, withLength }) => {
    const lines = [`${method} ${target}${version === '' ? '' : ` ${version}`}`];
    if (host) lines.push('Host: 127.0.0.1');
    for (const [name, value] of headers) lines.push(`${name}: ${value}`);
    if (withLength && !headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))) {
      lines.push(`Content-Length: ${body.length}`);
    }
    return Buffer.from(lines.join(eol) + eol + eol + body, 'latin1');
  });

/** Requests a real client would send: valid framing, so the handlers and parsers are reached. */
const wellFormed = fc
  .record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'),
    target: fc.oneof(
      fc.constantFrom('/echo', '/static/file.txt', '/static/missing', '/missing'),
      fc
        .array(fc.tuple(fc.stringMatching(/^[a-z]{1,4}$/), fc.string({ maxLength: 12 })), {
          maxLength: 4,
        })
        .map(
          (pairs) => '/echo?' + pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'),
        ),
    ),
    headers: fc.uniqueArray(
      fc.oneof(
        header.filter(
          ([n, v]) => /^(content-type|cookie|range)$/i.test(n) && !/[\x00-\x1f\x7f]/.test(v),
        ),
        fc.constantFrom<[string, string]>(
          ['If-None-Match', '*'],
          ['Accept-Encoding', 'gzip'],
          ['Connection', 'keep-alive'],
        ),
      ),
      { selector: ([n]) => n.toLowerCase(), maxLength: 4 },
    ),
    body,
    chunkedBody: fc.boolean(),
  })
  .map(({ method, target, headers, body, chunkedBody }) => {
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1'];
    for (const [name, value] of headers) lines.push(`${name}: ${value}`);
    let payload = body;
    if (chunkedBody && body.length > 0) {
      lines.push('Transfer-Encoding: chunked');
      payload = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    } else lines.push(`Content-Length: ${body.length}`);
    return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + payload, 'latin1');
  });

const request = fc.oneof(wellFormed, hostile);

const cuts = fc.array(fc.nat(), { minLength: 1, maxLength: 6 });

function split(buffer: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((n) => n % Math.max(1, buffer.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from && p < buffer.length) {
      out.push(buffer.subarray(from, p));
      from = p;
    }
  }
  out.push(buffer.subarray(from));
  return out;
}

// --- the properties ---------------------------------------------------------------------------

describe('fuzz: raw requests to a running server', () => {
  let srv: TestServer;
  let root: string;
  const bad: LogRecord[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let removeInterceptor: () => void = () => {};

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'typhoon-fuzz-'));
    writeFileSync(join(root, 'file.txt'), '0123456789'.repeat(100));
    writeFileSync(join(root, '.hidden'), 'secret');
    const settings: ApplicationSettings = { cookieSecret: SECRET };
    srv = await serveApp(
      [
        ['/echo', Echo],
        ['/static/(.*)', StaticFileHandler, { path: root }],
      ],
      settings,
      { headerTimeout: 5_000, bodyTimeout: 5_000 },
    );
    process.on('unhandledRejection', onUnhandled);
    // Refused requests are logged, as Tornado logs them: 4xx access-log warnings and an
    // HTTPError's log message (`403 GET /x (ip): why`) on the gen logger. Any other warning,
    // and any error, is a finding.
    removeInterceptor = addLogInterceptor((record) => {
      const expected =
        record.level !== 'error' &&
        (record.logger === 'access' ||
          (record.logger === 'gen' && /^4\d\d [A-Z]/.test(record.message)) ||
          record.level === 'info' ||
          record.level === 'debug');
      if (!expected) bad.push(record);
      return true;
    });
  });

  after(async () => {
    removeInterceptor();
    process.off('unhandledRejection', onUnhandled);
    await srv.close();
    rmSync(root, { recursive: true, force: true });
  });

  /**
   * Send `chunks` (1 ms apart, so they arrive as separate segments), half-close once the server
   * has gone quiet (an immediate FIN would race an answer that waits for a file stat: the server
   * drops it, on some runs and not others), read all.
   */
  async function exchange(chunks: Buffer[]): Promise<string> {
    const list: Array<Buffer | number> = [];
    chunks.forEach((c, i) => list.push(...(i === 0 ? [c] : [1, c])));
    const result = await sendRaw(srv.port, list, { end: true, endWhenQuiet: 10, timeout: 3_000 });
    return result.text;
  }

  function check(text: string, what: Buffer): void {
    const shown = JSON.stringify(what.toString('latin1'));
    if (text.length > 0) {
      const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/.exec(text);
      assert.ok(m !== null, `malformed answer to ${shown}: ${JSON.stringify(text.slice(0, 80))}`);
      for (const status of text.matchAll(/(?:^|\r\n\r\n)HTTP\/1\.1 (\d{3}) /g)) {
        assert.notEqual(status[1], '500', `500 for ${shown}`);
      }
    }
    assert.deepEqual(
      bad.splice(0).map((r) => `${r.logger} ${r.level}: ${r.message}`),
      [],
      `logged for ${shown}`,
    );
    assert.deepEqual(unhandled.splice(0), [], `unhandled rejection for ${shown}`);
  }

  /** What must not depend on segmentation: the answers without their Date headers. */
  const normalise = (text: string) => text.replace(/\r\nDate: [^\r\n]*/g, '');

  test('any request: a well-formed answer or a close, never a 500, an error log or a crash', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (bytes) => {
        check(await exchange([bytes]), bytes);
      }),
      params(300),
    );
    const health = await srv.fetch('/echo?alive=1');
    assert.equal(health.status, 200, 'the server is still serving');
  });

  test('the same answer however the request is cut into segments', async () => {
    await fc.assert(
      fc.asyncProperty(request, cuts, async (bytes, at) => {
        const whole = await exchange([bytes]);
        check(whole, bytes);
        const pieces = await exchange(split(bytes, at));
        check(pieces, bytes);
        assert.equal(
          normalise(pieces),
          normalise(whole),
          `segmentation changed the answer to ${JSON.stringify(bytes.toString('latin1'))}`,
        );
      }),
      params(150),
    );
  });

  test('a valid signed cookie is read back through all of it', async () => {
    const cookie = createSignedValue(SECRET, 's', 'fuzz');
    const res = await srv.fetch('/echo', { headers: { Cookie: `s=${cookie}` } });
    assert.equal(((await res.json()) as { signed: string }).signed, 'fuzz');
  });
});
