// The blocking HTTPClient. The server runs in a child process: a server on this thread could
// not answer while fetch() parks the thread, which is the point of a blocking client.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { runScript } from '../helpers/script.ts';
import { fileURLToPath } from 'node:url';
import { HTTPClient, HTTPRequest, type HTTPResponse } from '../../src/httpclient/index.ts';
import { HTTPClientError } from '../../src/errors.ts';

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/404') res.statusCode = 404;
    if (req.url === '/redirect') { res.statusCode = 302; res.setHeader('Location', '/landed'); }
    if (req.url === '/slow') { setTimeout(() => res.end('slow'), 2000); return; }
    res.setHeader('X-Child', String(process.pid));
    res.end(req.method + ' ' + req.url + ' ' + Buffer.concat(chunks).toString());
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

let child: ChildProcess;
let base: string;

before(async () => {
  child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('error', reject);
  });
  base = `http://127.0.0.1:${port}`;
});
after(() => {
  child.kill();
});

function throws(fn: () => unknown): HTTPClientError<HTTPResponse> {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HTTPClientError, `expected HTTPClientError, got ${String(err)}`);
    return err as HTTPClientError<HTTPResponse>;
  }
  assert.fail('expected fetch to throw');
}

describe('HTTPClient', () => {
  test('fetch returns the response itself, blocking the thread while loop work waits', () => {
    const client = new HTTPClient();
    try {
      let timerRan = false;
      const timer = setTimeout(() => (timerRan = true), 0);
      const response = client.fetch(`${base}/hello`);
      // The thread was parked: the zero-delay timer could not run during the fetch.
      assert.equal(timerRan, false);
      clearTimeout(timer);
      assert.equal(response.code, 200);
      assert.equal(response.text, 'GET /hello ');
      assert.equal(response.headers.get('X-Child'), String(child.pid));
      assert.equal(response.effectiveUrl, `${base}/hello`);
      assert.ok(response.requestTime >= 0);
      // Again, on the same worker.
      assert.equal(client.fetch(`${base}/again`).text, 'GET /again ');
    } finally {
      client.close();
    }
  });

  test('pending loop work runs after the blocking fetch returns', async () => {
    const client = new HTTPClient();
    try {
      const ran = new Promise<string>((resolve) => setTimeout(() => resolve('ran'), 0));
      client.fetch(`${base}/`);
      assert.equal(await ran, 'ran');
    } finally {
      client.close();
    }
  });

  test('POST with a body, an HTTPRequest object, redirects', () => {
    const client = new HTTPClient();
    try {
      assert.equal(
        client.fetch(`${base}/p`, { method: 'POST', body: 'data' }).text,
        'POST /p data',
      );
      const request = new HTTPRequest(`${base}/obj`, { method: 'PUT', body: Buffer.from('b') });
      const response = client.fetch(request);
      assert.equal(response.request, request);
      assert.equal(response.text, 'PUT /obj b');
      const redirected = client.fetch(`${base}/redirect`);
      assert.equal(redirected.effectiveUrl, `${base}/landed`);
    } finally {
      client.close();
    }
  });

  test('a non-2xx status throws HTTPClientError with the response; raiseError: false returns it', () => {
    const client = new HTTPClient();
    try {
      const err = throws(() => client.fetch(`${base}/404`));
      assert.equal(err.code, 404);
      assert.equal(err.response?.code, 404);
      assert.equal(err.response?.text, 'GET /404 ');
      const response = client.fetch(`${base}/404`, { raiseError: false });
      assert.equal(response.code, 404);
      assert.ok(response.error instanceof HTTPClientError);
    } finally {
      client.close();
    }
  });

  test('network failures and timeouts throw 599 with the cause', () => {
    const client = new HTTPClient({ defaults: { requestTimeout: 200 } });
    try {
      const refused = throws(() => client.fetch('http://127.0.0.1:1/', { raiseError: false }));
      assert.equal(refused.code, 599);
      assert.equal((refused.cause as { code?: string }).code, 'ECONNREFUSED');
      const slow = throws(() => client.fetch(`${base}/slow`));
      assert.equal(slow.code, 599);
      assert.match(slow.message, /Timeout during request/);
      const bad = throws(() => client.fetch('ftp://example.com/'));
      assert.match(bad.message, /Unsupported URL scheme/);
      assert.equal(client.fetch(`${base}/ok`).code, 200, 'still works');
    } finally {
      client.close();
    }
  });

  test('function-valued options are refused: they cannot cross to the worker', () => {
    const client = new HTTPClient();
    try {
      assert.throws(
        () => client.fetch(`${base}/`, { streamingCallback: () => undefined }),
        TypeError,
      );
      assert.throws(() => client.fetch(`${base}/`, { callback: () => undefined }), TypeError);
      assert.throws(
        () => client.fetch(new HTTPRequest(`${base}/`, { headerCallback: () => undefined })),
        TypeError,
      );
      assert.throws(
        () => new HTTPClient({ defaults: { streamingCallback: () => undefined } }),
        TypeError,
      );
    } finally {
      client.close();
    }
  });

  test('close() ends the worker; fetch afterwards throws', () => {
    const client = new HTTPClient();
    client.fetch(`${base}/`);
    client.close();
    const err = throws(() => client.fetch(`${base}/`));
    assert.match(err.message, /closed HTTPClient/);
  });

  test('a script that never calls close() still exits: the worker does not hold the process', async () => {
    const module = fileURLToPath(new URL('../../src/httpclient/index.ts', import.meta.url));
    const script = `
      import { HTTPClient } from ${JSON.stringify(module)};
      const response = new HTTPClient().fetch(${JSON.stringify(`${base}/script`)});
      console.log(response.text);
    `;
    const { code, stdout: out } = await runScript(script, 10_000);
    assert.equal(code, 0, 'the script exited by itself');
    assert.equal(out.trim(), 'GET /script');
  });
});
