// The header block the server builds itself for a handler's usual response must be exactly
// the one node's writeHead would have built: every scenario is answered twice over real
// sockets, once each way, and the bytes compared (only the Date value masked).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import { useHeaderBlocks } from '../../src/httpserver/connection.ts';
import type { HTTPServerOptions } from '../../src/httpserver/index.ts';
import { accessLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { sendRaw } from '../helpers/raw-http.ts';
import { withTestServer } from '../helpers/server.ts';

class Answer extends RequestHandler {
  override get(): void {
    const mode = this.getArgument('m', '')!;
    if (mode === 'json') this.write({ hello: 'world', n: 1 });
    else if (mode === 'bytes') this.write(Buffer.from([0, 1, 2, 200, 255, 10, 13]));
    else if (mode === 'utf8') this.write('héllo €');
    else if (mode === 'status') {
      this.setStatus(299, 'Fine Thanks');
      this.write('made');
    } else if (mode === 'type') {
      this.setHeader('Content-Type', 'text/plain; charset=latin1; x="ÿé"');
      this.write('typed');
    } else if (mode === 'etag') {
      this.setHeader('Etag', '"mine"');
      this.write('tagged');
    } else if (mode === 'length') {
      this.setHeader('Content-Length', 3);
      this.write('abc');
    } else if (mode === 'notype') {
      this.clearHeader('Content-Type');
      this.write('untyped');
    } else if (mode === 'empty') {
      // nothing written: Content-Length 0
    } else if (mode === 'error') {
      this.sendError(404);
    } else this.write('Hello, world');
  }

  override head(): void {
    this.get();
  }

  override post(): void {
    this.write(this.request.body);
  }
}

const GET = (query: string, extra = '', version = '1.1') =>
  `GET /?m=${query} HTTP/${version}\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

/** Everything the server sent for `chunks`, with each Date value masked. */
async function exchange(
  on: boolean,
  chunks: string[],
  options: HTTPServerOptions = {},
  node: (server: http.Server) => void = () => {},
): Promise<{ text: string; writeHeads: number }> {
  const previous = useHeaderBlocks(on);
  const writeHead = http.ServerResponse.prototype.writeHead;
  let writeHeads = 0;
  http.ServerResponse.prototype.writeHead = function (this: http.ServerResponse, ...args) {
    writeHeads++;
    return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
  } as typeof writeHead;
  try {
    return await withTestServer(
      new Application([['/', Answer]]),
      async (srv) => {
        node(srv.server.nodeServer);
        const { text } = await sendRaw(srv.port, chunks, { timeout: 250 });
        return { text: text.replace(/^Date: .*$/gm, 'Date: <now>'), writeHeads };
      },
      options,
    );
  } finally {
    http.ServerResponse.prototype.writeHead = writeHead;
    useHeaderBlocks(previous);
  }
}

const scenarios: Array<{
  name: string;
  chunks: string[];
  options?: HTTPServerOptions;
  node?: (server: http.Server) => void;
  /** What the answer must show, so the scenario reaches the branch it names. */
  shows?: RegExp;
}> = [
  { name: 'a text response, kept alive', chunks: [GET('text')] },
  { name: 'a JSON response', chunks: [GET('json')] },
  { name: 'a bytes body', chunks: [GET('bytes')] },
  { name: 'a UTF-8 body', chunks: [GET('utf8')] },
  { name: 'a custom status and reason', chunks: [GET('status')] },
  { name: 'a Latin-1 Content-Type', chunks: [GET('type')] },
  { name: 'the handler’s own Etag', chunks: [GET('etag')] },
  { name: 'the handler’s own Content-Length', chunks: [GET('length')] },
  { name: 'no Content-Type', chunks: [GET('notype')] },
  { name: 'an empty body', chunks: [GET('empty')] },
  { name: 'an error page', chunks: [GET('error')] },
  { name: 'HEAD', chunks: ['HEAD /?m=json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'] },
  {
    name: 'Connection: close',
    chunks: [GET('text', 'Connection: close\r\n')],
    shows: /^Connection: close\r$/m,
  },
  {
    name: 'HTTP/1.0 without keep-alive',
    chunks: [GET('text', '', '1.0')],
    shows: /^Connection: close\r$/m,
  },
  {
    name: 'HTTP/1.0 with keep-alive',
    chunks: [GET('text', 'Connection: keep-alive\r\n', '1.0')],
  },
  {
    name: 'three pipelined requests',
    chunks: [GET('text') + GET('json') + GET('status', 'Connection: close\r\n')],
  },
  {
    name: 'a POST with Expect: 100-continue',
    chunks: [
      'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n',
      'hello',
    ],
  },
  {
    name: 'noKeepAlive',
    chunks: [GET('text')],
    options: { noKeepAlive: true },
    shows: /^Connection: close\r$/m,
  },
  {
    name: 'a short idle timeout',
    chunks: [GET('text')],
    options: { idleConnectionTimeout: 1999 },
    shows: /^Keep-Alive: timeout=1\r$/m,
  },
  {
    name: 'a keep-alive timeout of 0',
    chunks: [GET('text')],
    node: (server) => (server.keepAliveTimeout = 0),
    shows: /^Connection: keep-alive\r\n\r\n/m,
  },
  {
    name: 'maxRequestsPerSocket reached on the second request',
    chunks: [GET('text'), GET('json')],
    node: (server) => (server.maxRequestsPerSocket = 2),
    shows: /Keep-Alive: timeout=\d+, max=2\r\n\r\n[^]*Connection: close\r\n/,
  },
  {
    name: 'no Date',
    chunks: [GET('text')],
    // (Before the server's own listener, which answers at once.)
    node: (server) =>
      server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.sendDate = false;
      }),
    shows: /^Server: [^]*^Content-Length: 12\r\n(?!Date)/m,
  },
];

for (const scenario of scenarios) {
  test(`header block: ${scenario.name} — the same bytes as node's writeHead`, async () => {
    const run = (on: boolean) => exchange(on, scenario.chunks, scenario.options, scenario.node);
    // The error page is logged at warning level, like every 4xx.
    const logged = scenario.name === 'an error page';
    const built = logged ? await expectLog(accessLog, /^404/, () => run(true)) : await run(true);
    const node = logged ? await expectLog(accessLog, /^404/, () => run(false)) : await run(false);
    assert.match(node.text, /^HTTP\/1\.1 \d{3} /);
    if (scenario.shows !== undefined) assert.match(node.text, scenario.shows);
    assert.equal(built.text, node.text);
  });
}

test('header block: a plain response takes it (node builds no head), a map of headers does not', async () => {
  const built = await exchange(true, [GET('json')]);
  const node = await exchange(false, [GET('json')]);
  assert.equal(built.writeHeads, 0);
  assert.equal(node.writeHeads, 1);
  // A 304 has no body to describe: node's writeHead frames it.
  const etag = /^Etag: (.*)$/m.exec(built.text)![1]!;
  const notModified = await exchange(true, [GET('json', `If-None-Match: ${etag}\r\n`)]);
  assert.match(notModified.text, /^HTTP\/1\.1 304 Not Modified/);
  assert.equal(notModified.writeHeads, 1);
});
