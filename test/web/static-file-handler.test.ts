// StaticFileHandler over real sockets: headers and caching (Etag, 304s, versioned URLs),
// ranges, HEAD, directories, streaming with backpressure, and every way of reaching outside
// the root (traversal, encodings, NUL, backslashes, drive letters and streams, device names,
// dotfiles, symlinks, the `//host` open redirect). Fixtures are copied into a temp directory
// where the symlinks are made, so none live in git.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Application } from '../../src/web/index.ts';
import { StaticFileHandler } from '../../src/web/static-file-handler.ts';
import { RequestHandler } from '../../src/web/request-handler.ts';
import { startTestServer, type TestServer } from '../../src/testing.ts';
import { accessLog, appLog, genLog } from '../../src/log.ts';
import { get, parseResponses, sendRaw } from '../helpers/raw-http.ts';
import { claimLogs } from '../helpers/claim-logs.ts';
import { withTestServer } from '../helpers/server.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/static/', import.meta.url));
let tmp = '';
let root = '';
const md5 = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
const HELLO = 'Hello, static world!\n';

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'typhoon-static-'));
  root = path.join(tmp, 'root');
  fs.cpSync(FIXTURES, root, { recursive: true });
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'TOP SECRET\n');
  fs.mkdirSync(path.join(tmp, 'outside-dir'));
  fs.writeFileSync(path.join(tmp, 'outside-dir', 'x.txt'), 'TOP SECRET DIR\n');
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(root, 'link-out.txt'));
  fs.symlinkSync(path.join(tmp, 'outside-dir'), path.join(root, 'dir-out'));
  fs.symlinkSync('hello.txt', path.join(root, 'link-in.txt'));
  fs.symlinkSync('.hidden', path.join(root, 'link-hidden.txt'));
  fs.mkdirSync(path.join(root, 'evil.example'));
  fs.writeFileSync(path.join(root, 'evil.example', 'index.html'), 'not a redirect target');
  // 3 MiB of varied bytes, for streaming and ranges.
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
  fs.writeFileSync(path.join(root, 'big.bin'), big);
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function app(
  args: Record<string, unknown> = {},
  settings: Record<string, unknown> = {},
): Application {
  return new Application(
    [
      [String.raw`/files/(.*)`, StaticFileHandler, { path: root, ...args }],
      [String.raw`/(.*)`, StaticFileHandler, { path: root, defaultFilename: 'index.html' }],
    ],
    settings,
  );
}

async function raw(srv: TestServer, target: string, headers: Record<string, string> = {}) {
  const result = await sendRaw(srv.port, get(target, headers));
  return parseResponses(result.text)[0]!;
}

test('GET: body, Content-Type, Content-Length, Etag (content MD5), Last-Modified, Accept-Ranges', async () => {
  await withTestServer(app(), async (srv) => {
    const res = await srv.fetch('/files/hello.txt');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), HELLO);
    assert.equal(res.headers.get('Content-Type'), 'text/plain');
    assert.equal(res.headers.get('Content-Length'), String(HELLO.length));
    assert.equal(res.headers.get('Etag'), `"${md5(HELLO)}"`);
    assert.equal(res.headers.get('Accept-Ranges'), 'bytes');
    const mtime = Math.floor(fs.statSync(path.join(root, 'hello.txt')).mtimeMs / 1000) * 1000;
    assert.equal(Date.parse(res.headers.get('Last-Modified')!), mtime);
    assert.equal(res.headers.get('Cache-Control'), null);
    assert.equal((await srv.fetch('/files/style.css')).headers.get('Content-Type'), 'text/css');
    assert.equal(
      (await srv.fetch('/files/sub/index.html')).headers.get('Content-Type'),
      'text/html',
    );
    const missing = await claimLogs([[accessLog, /^404/]], () => srv.fetch('/files/nope.txt'));
    assert.equal(missing.status, 404);
  });
});

test('conditional GETs: If-None-Match and If-Modified-Since give 304; an invalid date is ignored', async () => {
  await withTestServer(app(), async (srv) => {
    const etag = `"${md5(HELLO)}"`;
    const lastModified = (await srv.fetch('/files/hello.txt')).headers.get('Last-Modified')!;
    const status = async (headers: Record<string, string>) =>
      (await raw(srv, '/files/hello.txt', headers)).status;
    assert.equal(await status({ 'If-None-Match': etag }), 304);
    assert.equal(await status({ 'If-None-Match': `"other", W/${etag}` }), 304);
    assert.equal(await status({ 'If-None-Match': '*' }), 304);
    assert.equal(await status({ 'If-None-Match': '"other"' }), 200);
    assert.equal(await status({ 'If-Modified-Since': lastModified }), 304);
    const later = new Date(Date.parse(lastModified) + 3600_000).toUTCString();
    assert.equal(await status({ 'If-Modified-Since': later }), 304);
    const earlier = new Date(Date.parse(lastModified) - 1000).toUTCString();
    assert.equal(await status({ 'If-Modified-Since': earlier }), 200);
    // If-None-Match decides alone when present.
    assert.equal(await status({ 'If-None-Match': '"other"', 'If-Modified-Since': later }), 200);
    for (const bad of ['yesterday', 'Mon, 30 Feb 2026 00:00:00 GMT', '', 'x'.repeat(500), '99']) {
      assert.equal(await status({ 'If-Modified-Since': bad }), 200, bad);
    }
    const notModified = await raw(srv, '/files/hello.txt', { 'If-None-Match': etag });
    assert.equal(notModified.body, '');
    assert.equal(notModified.headers['etag'], etag);
    assert.equal(notModified.headers['content-length'], undefined);
  });
});

test('Range: 206 for one range, 200 for the whole file or ignored ones, 416 for unsatisfiable', async () => {
  await withTestServer(app(), async (srv) => {
    const size = HELLO.length;
    const range = (value: string) => raw(srv, '/files/hello.txt', { Range: value });
    const first = await range('bytes=0-4');
    assert.equal(first.status, 206);
    assert.equal(first.body, 'Hello');
    assert.equal(first.headers['content-range'], `bytes 0-4/${size}`);
    assert.equal(first.headers['content-length'], '5');
    const suffix = await range('bytes=-7');
    assert.equal(suffix.status, 206);
    assert.equal(suffix.body, HELLO.slice(-7));
    const open = await range('bytes=7-');
    assert.equal(open.body, HELLO.slice(7));
    const pastEnd = await range('bytes=7-1000');
    assert.equal(pastEnd.status, 206);
    assert.equal(pastEnd.body, HELLO.slice(7));
    assert.equal(pastEnd.headers['content-range'], `bytes 7-${size - 1}/${size}`);
    const whole = await range(`bytes=0-${size - 1}`);
    assert.equal(whole.status, 200);
    assert.equal((await range('bytes=-1000')).status, 200);
    for (const unsatisfiable of ['bytes=5-2', 'bytes=-0', `bytes=${size}-`, 'bytes=1000-2000']) {
      const r = await claimLogs([[accessLog, /^416/]], () => range(unsatisfiable));
      assert.equal(r.status, 416, unsatisfiable);
      assert.equal(r.headers['content-range'], `bytes */${size}`, unsatisfiable);
      assert.equal(r.body, '', unsatisfiable);
    }
    // Ignored: several ranges (no multipart/byteranges), other units, garbage.
    for (const ignored of [
      'bytes=0-1,5-6',
      'items=0-1',
      'bytes=a-b',
      'bytes=--1',
      'bytes=1-2-3',
      'garbage',
      'bytes=+1-2',
    ]) {
      const r = await range(ignored);
      assert.equal(r.status, 200, ignored);
      assert.equal(r.body, HELLO, ignored);
    }
  });
});

test('HEAD answers the same headers and no body', async () => {
  await withTestServer(app(), async (srv) => {
    const head = await sendRaw(
      srv.port,
      `HEAD /files/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    const [response] = parseResponses(head.text, 1);
    assert.equal(response!.status, 200);
    assert.equal(response!.headers['content-length'], String(3 * 1024 * 1024 + 17));
    assert.equal(response!.headers['content-type'], 'application/octet-stream');
    assert.ok(head.text.endsWith('\r\n\r\n'), 'nothing after the headers');
  });
});

test('a large file streams intact, and ranges inside it are exact', async () => {
  await withTestServer(app(), async (srv) => {
    const expected = fs.readFileSync(path.join(root, 'big.bin'));
    const res = await srv.fetch('/files/big.bin');
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(body.length, expected.length);
    assert.ok(body.equals(expected));
    assert.equal(res.headers.get('Etag'), `"${md5(expected)}"`);
    const start = 1_000_003;
    const end = 2_500_000;
    const part = await srv.fetch('/files/big.bin', { headers: { Range: `bytes=${start}-${end}` } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(expected.subarray(start, end + 1)));
  });
});

// Random bytes (big.bin repeats every 256 KiB, so a piece read into the wrong buffer could
// go unnoticed there).
function randomFile(name: string): Buffer {
  const content = randomBytes(2 * 1024 * 1024 + 12_345);
  fs.writeFileSync(path.join(root, name), content);
  return content;
}

test('concurrent large responses share read buffers without mixing their bytes', async () => {
  // Pieces of one response are read into buffers that others' finished pieces gave back.
  const contents = [randomFile('random-1.bin'), randomFile('random-2.bin')];
  await withTestServer(app(), async (srv) => {
    const fetchBody = async (i: number) =>
      Buffer.from(await (await srv.fetch(`/files/random-${(i % 2) + 1}.bin`)).arrayBuffer());
    for (let round = 0; round < 2; round++) {
      const bodies = await Promise.all([0, 1, 2, 3, 4, 5].map(fetchBody));
      bodies.forEach((body, i) => assert.ok(body.equals(contents[i % 2]!), `body ${i}`));
    }
  });
});

test('a transform that keeps the chunks it is given gets buffers nobody reuses', async () => {
  // Holds every chunk until the last and sends them all then: had the handler put those
  // buffers back in its pool after their (empty) writes, later reads would overwrite them.
  const expected = randomFile('random-held.bin');
  const held: Buffer[] = [];
  const holdAll = () => ({
    transformFirstChunk(status: number, headers: never, chunk: Buffer, finishing: boolean) {
      return [status, headers, this.transformChunk(chunk, finishing)] as [number, never, Buffer];
    },
    transformChunk(chunk: Buffer, finishing: boolean): Buffer {
      held.push(chunk);
      return finishing ? Buffer.concat(held.splice(0)) : Buffer.alloc(0);
    },
  });
  await withTestServer(app({}, { transforms: [holdAll] }), async (srv) => {
    const body = Buffer.from(await (await srv.fetch('/files/random-held.bin')).arrayBuffer());
    assert.equal(body.length, expected.length);
    assert.ok(body.equals(expected));
  });
});

test('a client that stops reading holds the server to a bounded amount of the file', async () => {
  const file = path.join(root, 'huge.bin');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, 128 * 1024 * 1024); // sparse: cheap to make
  let serverSocket: net.Socket | undefined;
  class Watched extends StaticFileHandler {
    override prepare() {
      serverSocket = this.request.connection!.raw.socket;
    }
  }
  const srv = await startTestServer(
    new Application([[String.raw`/(.*)`, Watched, { path: root }]]),
  );
  const client = net.connect(srv.port, '127.0.0.1');
  try {
    await new Promise((resolve) => client.once('connect', resolve));
    client.write(get('/huge.bin'));
    client.pause(); // read nothing: the kernel buffers fill, then the server must wait
    // Wait for the response to start (the first request hashes the file), then a while more.
    const deadline = Date.now() + 20_000;
    while ((serverSocket?.bytesWritten ?? 0) === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(serverSocket !== undefined);
    const handedOut = serverSocket.bytesWritten + serverSocket.writableLength;
    assert.ok(handedOut > 0);
    assert.ok(
      handedOut < 48 * 1024 * 1024,
      `server pushed ${handedOut} bytes to a client that reads nothing`,
    );
    assert.ok(serverSocket.writableLength <= 1024 * 1024, `${serverSocket.writableLength} queued`);
  } finally {
    client.destroy();
    await srv.close();
    fs.rmSync(file);
  }
});

test('a client that leaves mid-file ends the transfer quietly and the server keeps serving', async () => {
  const srv = await startTestServer(app());
  try {
    const result = await sendRaw(srv.port, get('/files/big.bin'), {
      until: /\r\n\r\n[\s\S]{1000}/,
    });
    assert.match(result.text, /^HTTP\/1\.1 200/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await (await srv.fetch('/files/hello.txt')).text(), HELLO);
  } finally {
    await srv.close();
  }
});

test('staticUrl adds ?v=<md5>; a versioned URL is cached for a year', async () => {
  class Page extends RequestHandler {
    override get() {
      this.write(`${this.staticUrl('hello.txt')} ${this.staticUrl('sub/index.html', false)}`);
    }
  }
  await withTestServer(
    new Application([['/page', Page]], { staticPath: root, staticUrlPrefix: '/assets/' }),
    async (srv) => {
      const [versioned, plain] = (await (await srv.fetch('/page')).text()).split(' ');
      assert.equal(versioned, `/assets/hello.txt?v=${md5(HELLO)}`);
      assert.equal(plain, '/assets/sub/index.html');
      const res = await srv.fetch(versioned!);
      assert.equal(await res.text(), HELLO);
      assert.equal(res.headers.get('Cache-Control'), 'max-age=31536000');
      const expires = Date.parse(res.headers.get('Expires')!);
      assert.ok(Math.abs(expires - (Date.now() + 31_536_000_000)) < 60_000);
      assert.equal((await srv.fetch('/assets/hello.txt')).headers.get('Cache-Control'), null);
      // staticPath also routes /robots.txt (and /favicon.ico).
      assert.equal(await (await srv.fetch('/robots.txt')).text(), 'User-agent: *\nDisallow:\n');
    },
  );
});

test('an edited file gets a new version and Etag (the hash cache checks size and time)', async () => {
  const file = path.join(root, 'changing.txt');
  fs.writeFileSync(file, 'version one');
  const srv = await startTestServer(app());
  try {
    const settings = { staticPath: root };
    assert.equal(StaticFileHandler.getVersion(settings, 'changing.txt'), md5('version one'));
    assert.equal(
      (await srv.fetch('/files/changing.txt')).headers.get('Etag'),
      `"${md5('version one')}"`,
    );
    fs.writeFileSync(file, 'version two, longer');
    assert.equal(
      StaticFileHandler.getVersion(settings, 'changing.txt'),
      md5('version two, longer'),
    );
    const res = await srv.fetch('/files/changing.txt');
    assert.equal(res.headers.get('Etag'), `"${md5('version two, longer')}"`);
    assert.equal(await res.text(), 'version two, longer');
    const missing = await claimLogs([[appLog, /Could not open static file/]], async () =>
      StaticFileHandler.makeStaticUrl(settings, 'missing.txt'),
    );
    assert.equal(missing, '/static/missing.txt');
    assert.throws(() => StaticFileHandler.makeStaticUrl(settings, '../secret.txt'), TypeError);
  } finally {
    await srv.close();
    fs.rmSync(file);
  }
});

test('every path outside the root, hidden or special is refused with 403/404 and never served', async () => {
  const srv = await startTestServer(app());
  const attacks: Array<[string, number]> = [
    ['/files/../secret.txt', 403],
    ['/files/..%2fsecret.txt', 403],
    ['/files/%2e%2e/secret.txt', 403],
    ['/files/%2e%2e%2fsecret.txt', 403],
    ['/files/sub/../../secret.txt', 403],
    ['/files/%252e%252e/secret.txt', 404], // double-encoded: decoded once, a literal name
    ['/files/%252e%252e%252fsecret.txt', 404],
    ['/files/..%5csecret.txt', 403],
    ['/files/%5c..%5csecret.txt', 403],
    ['/files//etc/passwd', 403],
    ['/files/%2fetc%2fpasswd', 403],
    ['/files/hello.txt%00.png', 403],
    ['/files/%00', 403],
    ['/files/C:/Windows/win.ini', 403],
    ['/files/c%3a%5cwindows', 403],
    ['/files/hello.txt::$DATA', 403],
    ['/files/hello.txt:stream', 403],
    ['/files/CON', 404],
    ['/files/con.txt', 404],
    ['/files/NUL', 404],
    ['/files/COM1.log', 404],
    ['/files/hello.txt.', 404],
    ['/files/.hidden', 404],
    ['/files/%2ehidden', 404],
    ['/files/sub/../.hidden', 403],
    ['/files/link-out.txt', 404],
    ['/files/dir-out/x.txt', 404],
    ['/files/link-hidden.txt', 404],
    ['/files/%ff', 400],
    ['/files/sub/', 403], // a directory, no defaultFilename
    ['/files/sub', 403],
  ];
  try {
    for (const [target, status] of attacks) {
      const response = await claimLogs([[accessLog, new RegExp(`^${status} `)]], () =>
        status === 404 ? raw(srv, target) : expectAnyGenLog(() => raw(srv, target)),
      );
      assert.equal(response.status, status, target);
      assert.doesNotMatch(response.body, /TOP SECRET|dotfile secret/, target);
    }
    assert.equal(await (await srv.fetch('/files/link-in.txt')).text(), HELLO);
  } finally {
    await srv.close();
  }
});

// 400/403 refusals log why (once) on the gen logger; a 404 does not.
function expectAnyGenLog<T>(fn: () => Promise<T>): Promise<T> {
  return claimLogs([[genLog, /^40[03] GET/]], fn);
}

test('followSymlinks serves files that symlinks lead to outside the root', async () => {
  await withTestServer(app({ followSymlinks: true }), async (srv) => {
    assert.equal(await (await srv.fetch('/files/link-out.txt')).text(), 'TOP SECRET\n');
  });
});

test('directories: defaultFilename, a redirect adding the slash, and no open redirect for //host', async () => {
  await withTestServer(app(), async (srv) => {
    const redirect = await raw(srv, '/sub');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers['location'], '/sub/');
    const index = await raw(srv, '/sub/');
    assert.equal(index.status, 200);
    assert.match(index.body, /index of sub/);
    // `//evil.example` names a real directory; redirecting it to `//evil.example/` would send the
    // browser to another host.
    for (const target of ['//evil.example', '///evil.example', '//evil.example/..']) {
      const response = await claimLogs(
        [
          [accessLog, /^40[34] /],
          [genLog, /^40[34]/],
        ],
        () => raw(srv, target),
      );
      assert.ok(
        response.status === 403 || response.status === 404,
        `${target}: ${response.status}`,
      );
      assert.equal(response.headers['location'], undefined, target);
    }
  });
});
