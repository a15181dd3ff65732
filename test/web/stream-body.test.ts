// Streamed request bodies over real sockets: `streamRequestBody` + `dataReceived`, flow
// control, the per-handler body limit, errors while streaming, and MultipartStreamHandler —
// parts arriving as they are sent, a 200 MB upload that never sits in memory, and the hostile
// bodies (10 000 empty parts, no closing boundary, 100 000 `;`, a gzip bomb).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { MultipartStreamHandler, type StreamedPart } from '../../src/web/multipart-stream.ts';
import { HTTPError } from '../../src/errors.ts';
import { type TestServer } from '../../src/testing.ts';
import { accessLog, genLog } from '../../src/log.ts';
import { captureLogs, parseResponses, sendRaw } from '../helpers/raw-http.ts';
import { claimLogs } from '../helpers/claim-logs.ts';
import { withTestServer } from '../helpers/server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const events: string[] = [];

class Collect extends RequestHandler {
  static override streamRequestBody = true;
  #hash = createHash('sha256');
  #bytes = 0;
  #active = 0;
  #maxActive = 0;
  override prepare() {
    events.push(`prepare body=${this.request.body.length}`);
    const limit = this.getArgument('limit', '');
    if (limit !== '') this.request.connection!.setMaxBodySize(Number(limit));
  }
  override async dataReceived(chunk: Buffer) {
    this.#active++;
    this.#maxActive = Math.max(this.#maxActive, this.#active);
    if (this.getArgument('slow', '') === '1') await sleep(2);
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    if (this.getArgument('fail', '') !== '' && this.#bytes >= Number(this.getArgument('fail')))
      throw new HTTPError(400, 'refused while streaming');
    this.#active--;
  }
  override post() {
    events.push('post');
    this.write({
      bytes: this.#bytes,
      sha256: this.#hash.digest('hex'),
      maxActive: this.#maxActive,
    });
  }
  override put() {
    return this.post();
  }
}

class Small extends RequestHandler {
  static override streamRequestBody = true;
  static override maxBodySize = 10;
  override dataReceived(_chunk: Buffer) {}
  override post() {
    this.write('small ok');
  }
}

class Buffered extends RequestHandler {
  static override maxBodySize = 2 * 1024 * 1024;
  override post() {
    this.write({ bytes: this.request.body.length });
  }
}

interface Received {
  name: string;
  filename: string | null;
  contentType: string | null;
  bytes: number;
  sha256: string;
  chunks: number;
}

class Upload extends MultipartStreamHandler {
  static override maxBodySize = 1024 * 1024 * 1024;
  parts: Received[] = [];
  #hash = createHash('sha256');
  #current: Received | null = null;
  override prepare() {
    const maxPartBytes = this.getArgument('maxPartBytes', '');
    if (maxPartBytes !== '') this.multipartLimits = { maxPartBytes: Number(maxPartBytes) };
  }
  override onPartBegin(part: StreamedPart) {
    this.#hash = createHash('sha256');
    this.#current = { ...part, bytes: 0, sha256: '', chunks: 0 };
    delete (this.#current as unknown as { headers?: unknown }).headers;
  }
  override async onPartData(chunk: Buffer) {
    this.#hash.update(chunk);
    this.#current!.bytes += chunk.length;
    this.#current!.chunks++;
    if (this.#current!.chunks % 512 === 0) await sleep(0); // an async consumer now and then
  }
  override onPartEnd() {
    this.#current!.sha256 = this.#hash.digest('hex');
    this.parts.push(this.#current!);
    this.#current = null;
  }
  override post() {
    this.write({ parts: this.parts });
  }
}

function app(): Application {
  return new Application([
    ['/collect', Collect],
    ['/small', Small],
    ['/buffered', Buffered],
    ['/upload', Upload],
  ]);
}

/** POST `chunks` with chunked encoding through node:http, honouring backpressure. */
function postChunks(
  port: number,
  path: string,
  chunks: Iterable<Buffer>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { port, host: '127.0.0.1', path, method: 'POST', headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const iterator = chunks[Symbol.iterator]();
    const pump = () => {
      for (;;) {
        const next = iterator.next();
        if (next.done) {
          req.end();
          return;
        }
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

function* repeat(chunk: Buffer, times: number): Generator<Buffer> {
  for (let i = 0; i < times; i++) yield chunk;
}

test('prepare() runs before the body, each chunk reaches dataReceived in order, then post()', async () => {
  await withTestServer(app(), async (srv) => {
    events.length = 0;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const res = await postChunks(srv.port, '/collect?slow=1', repeat(chunk, 40));
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as { bytes: number; sha256: string; maxActive: number };
    const expected = createHash('sha256');
    for (let i = 0; i < 40; i++) expected.update(chunk);
    assert.equal(body.bytes, 40 * 64 * 1024);
    assert.equal(body.sha256, expected.digest('hex'));
    assert.equal(body.maxActive, 1, 'a pending dataReceived holds the next chunk back');
    assert.deepEqual(events, ['prepare body=0', 'post']);
    // An empty body: prepare, then the method.
    const empty = await srv.fetch('/collect', { method: 'PUT' });
    assert.equal(((await empty.json()) as { bytes: number }).bytes, 0);
  });
});

test('the body limit applies per handler: static maxBodySize and setMaxBodySize in prepare()', async () => {
  await withTestServer(
    app(),
    async (srv) => {
      assert.equal(
        await (await srv.fetch('/small', { method: 'POST', body: '0123456789' })).text(),
        'small ok',
      );
      const declared = await srv.fetch('/small', { method: 'POST', body: '01234567890' });
      assert.equal(declared.status, 413);
      const chunked = await postChunks(srv.port, '/small', [
        Buffer.from('012345'),
        Buffer.from('67890'),
      ]);
      assert.equal(chunked.status, 413);
      // Raised above the server's 1 KiB, for a streamed and for a buffered handler.
      const big = Buffer.alloc(100 * 1024, 1);
      const streamed = await postChunks(srv.port, '/collect?limit=200000', [big]);
      assert.equal((JSON.parse(streamed.body) as { bytes: number }).bytes, big.length);
      const buffered = await srv.fetch('/buffered', { method: 'POST', body: big });
      assert.deepEqual(await buffered.json(), { bytes: big.length });
      const refused = await postChunks(srv.port, '/collect?limit=5000', [big]);
      assert.equal(refused.status, 413);
    },
    { maxBodySize: 1024 },
  );
});

test('an error in dataReceived answers its status, skips the method and closes the connection', async () => {
  await withTestServer(app(), async (srv) => {
    events.length = 0;
    const chunk = Buffer.alloc(16 * 1024, 3);
    const result = await claimLogs(
      [
        [accessLog, /^400 POST \/collect/],
        [genLog, /refused while streaming/],
      ],
      () =>
        sendRaw(srv.port, [
          'POST /collect?fail=32768 HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n',
          chunk,
          chunk,
          chunk,
        ]),
    );
    const [response] = parseResponses(result.text);
    assert.equal(response!.status, 400);
    assert.equal(response!.headers['connection'], 'close');
    assert.equal(result.closedByServer, true);
    assert.deepEqual(events, ['prepare body=0']);
  });
});

const BOUNDARY = '----typhoonBoundary7MA4YWxkTrZu0gW';

function part(headers: string, body: string | Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\n${headers}\r\n\r\n`),
    Buffer.from(body),
    Buffer.from('\r\n'),
  ]);
}
const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);
const MULTIPART = { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` };

test('MultipartStreamHandler gets each part: headers, then bytes, then its end', async () => {
  await withTestServer(app(), async (srv) => {
    const file = Buffer.alloc(300 * 1024);
    for (let i = 0; i < file.length; i++) file[i] = (i * 31) & 0xff;
    const body = Buffer.concat([
      part('Content-Disposition: form-data; name="title"', 'hello'),
      part(
        'Content-Disposition: form-data; name="doc"; filename="a.bin"\r\nContent-Type: application/octet-stream',
        file,
      ),
      part(`Content-Disposition: form-data; name="note"; filename*=UTF-8''na%C3%AFve.txt`, ''),
      CLOSE,
    ]);
    // Sent in small pieces, so parts and boundaries straddle chunk edges.
    const pieces: Buffer[] = [];
    for (let i = 0; i < body.length; i += 7001) pieces.push(body.subarray(i, i + 7001));
    const res = await postChunks(srv.port, '/upload', pieces, MULTIPART);
    assert.equal(res.status, 200, res.body);
    const { parts } = JSON.parse(res.body) as { parts: Received[] };
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename, p.contentType, p.bytes, p.sha256]),
      [
        ['title', null, null, 5, sha('hello')],
        ['doc', 'a.bin', 'application/octet-stream', file.length, sha(file)],
        ['note', 'naïve.txt', null, 0, sha('')],
      ],
    );
    assert.ok(parts[1]!.chunks > 10, 'the file arrived in pieces');
  });
});

test('a 200 MB upload streams through without the server holding it in memory', async () => {
  await withTestServer(app(), async (srv) => {
    const total = 200 * 1024 * 1024;
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i % 251) + 1;
    const head = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="big"; filename="big.bin"\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
    function* body(): Generator<Buffer> {
      yield head;
      yield* repeat(block, total / block.length);
      yield tail;
    }
    const expected = createHash('sha256');
    for (let i = 0; i < total / block.length; i++) expected.update(block);
    const baseline = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(
        peak,
        m.heapUsed + m.arrayBuffers - (baseline.heapUsed + baseline.arrayBuffers),
      );
    }, 5);
    let res: { status: number; body: string };
    try {
      res = await postChunks(srv.port, '/upload', body(), {
        ...MULTIPART,
        'Content-Length': String(head.length + total + tail.length),
      });
    } finally {
      clearInterval(sampler);
    }
    assert.equal(res.status, 200, res.body);
    const [received] = (JSON.parse(res.body) as { parts: Received[] }).parts;
    assert.equal(received!.bytes, total);
    assert.equal(received!.sha256, expected.digest('hex'));
    // The samples include garbage: V8 lets about 64 MiB of dead Buffer memory pile up before it
    // collects (its external-memory soft limit), and idle runs peaked at 50-63 MiB. A server that
    // held the upload would grow by its whole 200 MiB, so 128 MiB still tells the two apart.
    assert.ok(peak < 128 * 1024 * 1024, `memory grew by ${(peak / 1048576).toFixed(1)} MiB`);
  });
});

async function refusedMultipart(
  srv: TestServer,
  body: Buffer,
  status: number,
  reason: RegExp,
  path = '/upload',
): Promise<void> {
  const res = await claimLogs(
    [
      [accessLog, new RegExp(`^${status} POST`)],
      [genLog, reason],
    ],
    () => srv.fetch(path, { method: 'POST', body, headers: MULTIPART }),
  );
  assert.equal(res.status, status, reason.source);
}

test('hostile multipart bodies: too many parts, no closing boundary, 100 000 `;`, a part too big', async () => {
  await withTestServer(app(), async (srv) => {
    const empty = Buffer.concat([
      ...Array.from({ length: 10_000 }, () => part('Content-Disposition: form-data; name="e"', '')),
      CLOSE,
    ]);
    // Refused at part 1 001 with one log line, not one per part.
    const [res10k, genRecords] = await claimLogs([[accessLog, /^400 POST/]], () =>
      captureLogs('gen', () =>
        srv.fetch('/upload', { method: 'POST', body: empty, headers: MULTIPART }),
      ),
    );
    assert.equal(res10k.status, 400);
    assert.equal(genRecords.length, 1);
    assert.match(genRecords[0]!.message, /parts/);
    const unterminated = part('Content-Disposition: form-data; name="a"', 'value never closed');
    await refusedMultipart(srv, unterminated, 400, /boundary|ended/i);
    const semicolons = Buffer.concat([
      part(`Content-Disposition: form-data; name="a"${';'.repeat(100_000)}`, 'x'),
      CLOSE,
    ]);
    await refusedMultipart(srv, semicolons, 400, /./);
    const tooBig = Buffer.concat([
      part('Content-Disposition: form-data; name="f"', 'x'.repeat(2000)),
      CLOSE,
    ]);
    await refusedMultipart(srv, tooBig, 413, /larger than/, '/upload?maxPartBytes=1000');
    const res = await claimLogs(
      [
        [accessLog, /^415 POST/],
        [genLog, /expected multipart/],
      ],
      () =>
        srv.fetch('/upload', {
          method: 'POST',
          body: 'a=1',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        }),
    );
    assert.equal(res.status, 415);
  });
});

test('a gzip bomb with decompressRequest is refused with 413 once it inflates past the limit', async () => {
  await withTestServer(
    app(),
    async (srv) => {
      const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }); // ~64 KiB
      assert.ok(bomb.length < 1024 * 1024, 'small on the wire');
      for (const path of ['/buffered', '/collect']) {
        const result = await sendRaw(srv.port, [
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`,
          bomb,
        ]);
        assert.equal(parseResponses(result.text)[0]?.status, 413, path);
      }
      // A modest gzip body inflates and arrives whole.
      const text = Buffer.from('inflate me '.repeat(1000));
      const ok = await srv.fetch('/buffered', {
        method: 'POST',
        body: zlib.gzipSync(text),
        headers: { 'Content-Encoding': 'gzip' },
      });
      assert.deepEqual(await ok.json(), { bytes: text.length });
    },
    { decompressRequest: true, maxBodySize: 1024 * 1024 },
  );
});
