// The line-based echo example: its server answered by its client, by several clients at once,
// and run as scripts the way its header says.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EchoServer, MAX_LINE } from '../../examples/echo/server.ts';
import { echo } from '../../examples/echo/client.ts';
import { TCPClient } from '../../src/tcpclient.ts';

const file = (name: string) =>
  fileURLToPath(new URL(`../../examples/echo/${name}`, import.meta.url));

describe('echo example', () => {
  test('the client gets every line back, in order', async (t) => {
    const server = new EchoServer();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    assert.deepEqual(await echo('127.0.0.1', port, ['one', 'two', 'héllo ✓', '']), [
      'one',
      'two',
      'héllo ✓',
      '',
    ]);
  });

  test('many clients at once are each answered with their own lines', async (t) => {
    const server = new EchoServer();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => echo('127.0.0.1', port, [`client ${i}`, `bye ${i}`])),
    );
    results.forEach((replies, i) => assert.deepEqual(replies, [`client ${i}`, `bye ${i}`]));
  });

  test('a line longer than MAX_LINE closes that connection', async (t) => {
    const server = new EchoServer();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const stream = await new TCPClient().connect('127.0.0.1', port);
    void stream.write(Buffer.alloc(MAX_LINE + 10, 'a')).catch(() => {});
    assert.equal((await stream.readUntilClose()).length, 0);
    assert.deepEqual(await echo('127.0.0.1', port, ['still serving']), ['still serving']);
  });

  test('runs as scripts: server.ts serves, client.ts prints the echoes', async () => {
    const server = spawn(process.execPath, [file('server.ts'), '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
          if (match) resolve(Number(match[1]));
        });
        server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
      });
      const client = spawnSync(process.execPath, [file('client.ts'), String(port), 'hi', 'there'], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(client.status, 0, client.stderr);
      assert.equal(client.stdout, 'hi\nthere\n');
    } finally {
      server.kill('SIGINT');
    }
  });
});
