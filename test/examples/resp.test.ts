// The RESP key-value example: checked with its own client, with raw inline commands, and with
// the real redis-cli where it is installed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { RespServer, globToRegExp } from '../../examples/resp/server.ts';
import { RespClient, RespError } from '../../examples/resp/client.ts';
import { TCPClient } from '../../src/tcpclient.ts';

const REDIS_CLI = '/usr/bin/redis-cli';
const run = promisify(execFile);

async function started(t: { after: (fn: () => void) => void }, limits = {}) {
  const server = new RespServer(limits);
  const port = await server.listen(0, '127.0.0.1');
  t.after(() => server.stop());
  const client = await RespClient.connect('127.0.0.1', port);
  t.after(() => client.close());
  return { server, port, client };
}

describe('RESP example with its own client', () => {
  test('PING, ECHO, SET/GET, EXISTS, DEL', async (t) => {
    const { client } = await started(t);
    assert.equal(await client.command('PING'), 'PONG');
    assert.deepEqual(await client.command('PING', 'hey'), Buffer.from('hey'));
    assert.deepEqual(await client.command('ECHO', 'bytes\r\n\0'), Buffer.from('bytes\r\n\0'));
    assert.equal(await client.command('GET', 'k'), null);
    assert.equal(await client.command('SET', 'k', 'v1'), 'OK');
    assert.deepEqual(await client.command('GET', 'k'), Buffer.from('v1'));
    assert.equal(await client.command('EXISTS', 'k', 'nope', 'k'), 2);
    assert.equal(await client.command('DEL', 'k', 'nope'), 1);
    assert.equal(await client.command('EXISTS', 'k'), 0);
  });

  test('binary-safe values, SET NX/XX and expiry', async (t) => {
    const { client } = await started(t);
    const blob = Buffer.from([0, 1, 2, 13, 10, 255]);
    assert.equal(await client.command('SET', 'bin', blob), 'OK');
    assert.deepEqual(await client.command('GET', 'bin'), blob);
    assert.equal(await client.command('SET', 'bin', 'x', 'NX'), null);
    assert.equal(await client.command('SET', 'fresh', 'x', 'XX'), null);
    assert.equal(await client.command('SET', 'fresh', 'x', 'NX'), 'OK');
    assert.equal(await client.command('SET', 'brief', 'x', 'PX', 30), 'OK');
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(await client.command('GET', 'brief'), null);
    await assert.rejects(client.command('SET', 'a', 'b', 'EX', 0), /invalid expire time/);
    await assert.rejects(client.command('SET', 'a', 'b', 'BOGUS'), /syntax error/);
  });

  test('INCR, DECR, INCRBY and their errors', async (t) => {
    const { client } = await started(t);
    assert.equal(await client.command('INCR', 'n'), 1);
    assert.equal(await client.command('INCRBY', 'n', 41), 42);
    assert.equal(await client.command('DECR', 'n'), 41);
    await client.command('SET', 'text', 'abc');
    await assert.rejects(client.command('INCR', 'text'), /not an integer/);
    await client.command('SET', 'big', '9223372036854775807');
    await assert.rejects(client.command('INCR', 'big'), /overflow/);
    await assert.rejects(client.command('INCRBY', 'n', 'x'), /not an integer/);
  });

  test('KEYS with glob patterns, DBSIZE, FLUSHDB', async (t) => {
    const { client } = await started(t);
    for (const key of ['user:1', 'user:2', 'user:10', 'session'])
      await client.command('SET', key, 1);
    const keys = (await client.command('KEYS', 'user:?')) as Buffer[];
    assert.deepEqual(keys.map(String).sort(), ['user:1', 'user:2']);
    assert.equal(((await client.command('KEYS', '*')) as Buffer[]).length, 4);
    assert.equal(await client.command('DBSIZE'), 4);
    assert.equal(await client.command('FLUSHDB'), 'OK');
    assert.equal(await client.command('DBSIZE'), 0);
    assert.ok(globToRegExp('a[bc]d').test('acd'));
    assert.ok(!globToRegExp('a[^bc]d').test('acd'));
    assert.ok(globToRegExp('x\\*').test('x*') && !globToRegExp('x\\*').test('xy'));
  });

  test('unknown commands and wrong arity are error replies; the connection stays usable', async (t) => {
    const { client } = await started(t);
    const error = await client.command('FROB', 'a').catch((e: unknown) => e);
    assert.ok(error instanceof RespError);
    assert.match(error.message, /^ERR unknown command 'FROB'/);
    await assert.rejects(client.command('GET'), /wrong number of arguments for 'get'/);
    assert.equal(await client.command('PING'), 'PONG');
  });

  test('pipelined commands are answered in order', async (t) => {
    const { client } = await started(t);
    const commands = Array.from({ length: 200 }, (_, i) => ['INCR', 'counter', i].slice(0, 2));
    const replies = await client.pipeline([...commands, ['GET', 'counter'], ['NOPE']]);
    assert.deepEqual(
      replies.slice(0, 200),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.deepEqual(replies[200], Buffer.from('200'));
    assert.ok(replies[201] instanceof RespError);
  });

  test('inline commands work, and QUIT closes the connection', async (t) => {
    const { port } = await started(t);
    const stream = await new TCPClient().connect('127.0.0.1', port);
    await stream.write('PING\r\nSET  k   inline\r\n\r\nGET k\r\nQUIT\r\n');
    const all = await stream.readUntilClose();
    assert.equal(all.toString(), '+PONG\r\n+OK\r\n$6\r\ninline\r\n+OK\r\n');
  });

  test('malformed and oversized requests get a protocol error and a closed connection', async (t) => {
    const { port } = await started(t, { maxBulk: 16, maxArgs: 4 });
    const cases: Array<[string, RegExp]> = [
      ['*1\r\n$99\r\n', /Protocol error: bulk too large/],
      ['*9\r\n', /Protocol error: multibulk too large/],
      ['*1\r\n$x\r\n', /Protocol error: invalid bulk length/],
      ['*1\r\n+PING\r\n', /Protocol error: expected '\$'/],
      ['*1\r\n$4\r\nPINGxx', /Protocol error: bulk string not terminated/],
    ];
    for (const [request, expected] of cases) {
      const stream = await new TCPClient().connect('127.0.0.1', port);
      await stream.write(request);
      assert.match((await stream.readUntilClose()).toString(), expected);
    }
    // An endless inline line is cut off at maxLine without an answer.
    const stream = await new TCPClient().connect('127.0.0.1', port);
    void stream.write(Buffer.alloc(70 * 1024, 'A')).catch(() => {});
    assert.equal((await stream.readUntilClose()).length, 0);
  });
});

describe('RESP example with the real redis-cli', () => {
  test('redis-cli can PING, SET, GET, INCR, DEL and list KEYS', async (t) => {
    if (!existsSync(REDIS_CLI)) {
      console.log('skipping: redis-cli not installed');
      t.skip('redis-cli not installed');
      return;
    }
    const server = new RespServer();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const cli = async (...args: string[]) =>
      (await run(REDIS_CLI, ['-p', String(port), ...args], { timeout: 10_000 })).stdout;
    assert.equal(await cli('PING'), 'PONG\n');
    assert.equal(await cli('SET', 'greeting', 'hello world'), 'OK\n');
    assert.equal(await cli('GET', 'greeting'), 'hello world\n');
    assert.equal(await cli('INCR', 'visits'), '1\n');
    assert.equal(await cli('INCR', 'visits'), '2\n');
    assert.equal(await cli('EXISTS', 'greeting', 'visits'), '2\n');
    assert.equal(
      (await cli('KEYS', '*')).split('\n').filter(Boolean).sort().join(','),
      'greeting,visits',
    );
    assert.equal(await cli('DEL', 'greeting'), '1\n');
    assert.equal(await cli('GET', 'greeting'), '\n');
    assert.match(await cli('INCR', 'nope', 'extra'), /ERR wrong number of arguments/);
    // Commands piped on stdin go through one connection, pipelined.
    const piped = await new Promise<string>((resolve, reject) => {
      const child = execFile(REDIS_CLI, ['-p', String(port)], { timeout: 10_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
      child.stdin?.end('SET a 1\nINCRBY a 9\nGET a\nECHO "two words"\n');
    });
    assert.equal(piped, 'OK\n10\n10\ntwo words\n');
  });
});
