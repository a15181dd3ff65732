// The chat demo's command line (demo/chat/cli.ts on typhoon/options) and the program itself:
// --help, a bad option (message, hint, exit 2), several processes without Redis refused with
// the reason, a Redis that does not answer named, and a clean stop on SIGTERM.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError } from '../../src/errors.ts';
import { ChatConfigError, parseChatOptions } from '../../demo/chat/cli.ts';
import { freePort } from '../helpers/redis-server.ts';
import { request, runDemo } from './run-demo.ts';

describe('chat demo options', () => {
  test('defaults: one process on 127.0.0.1:8888, MemoryBroker, no debug', () => {
    assert.deepEqual(parseChatOptions([]), {
      host: '127.0.0.1',
      port: 8888,
      processes: 1,
      debug: false,
      redisUrl: null,
      cookieSecret: null,
      drainTimeout: 1000,
    });
  });

  test('Tornado syntax: --name=value, --name value, a bare flag, durations', () => {
    const parsed = parseChatOptions([
      '--host=0.0.0.0',
      '--port',
      '9000',
      '--debug',
      '--processes=4',
      '--redis-url',
      'redis://127.0.0.1:6379',
      '--cookie_secret=s3',
      '--drain-timeout=2s',
    ]);
    assert.deepEqual(parsed, {
      host: '0.0.0.0',
      port: 9000,
      processes: 4,
      debug: true,
      redisUrl: 'redis://127.0.0.1:6379',
      cookieSecret: 's3',
      drainTimeout: 2000,
    });
  });

  test('a bad option is an OptionError naming it', () => {
    for (const [argv, name] of [
      [['--port=abc'], 'port'],
      [['--bogus'], 'bogus'],
      [['--processes=two'], 'processes'],
      [['--drain-timeout=soon'], 'drain-timeout'],
    ] as const) {
      assert.throws(
        () => parseChatOptions(argv),
        (error: unknown) => error instanceof OptionError && error.message.includes(name),
        argv.join(' '),
      );
    }
  });

  test('values out of range and several processes without Redis are refused, saying why', () => {
    assert.throws(() => parseChatOptions(['--port=65536']), ChatConfigError);
    assert.throws(() => parseChatOptions(['--processes=-1']), ChatConfigError);
    assert.throws(() => parseChatOptions(['serve']), /unexpected argument "serve"/);
    for (const processes of ['2', '0']) {
      assert.throws(
        () => parseChatOptions(['--processes', processes]),
        (error: unknown) =>
          error instanceof ChatConfigError &&
          /needs --redis-url/.test(error.message) &&
          /would not reach the clients of the other processes/.test(error.message),
      );
    }
    assert.equal(
      parseChatOptions(['--processes=2', '--redis-url=redis://127.0.0.1:1']).processes,
      2,
    );
  });
});

describe('chat demo program', () => {
  test('--help prints every option and exits 0', async () => {
    const demo = await runDemo(['--help'], 0);
    const { code } = await demo.exited;
    assert.equal(code, 0);
    const text = demo.lines.join('\n');
    for (const option of [
      '--host',
      '--port',
      '--processes',
      '--debug',
      '--redis-url',
      '--logging',
    ]) {
      assert.match(text, new RegExp(`^\\s+${option}\\b`, 'm'), option);
    }
  });

  test('a bad option or a refused combination: the message, a hint to --help, exit 2', async () => {
    for (const [args, message] of [
      [['--port=abc'], /Option 'port': 'abc' is not a number/],
      [['--processes', '3'], /--processes 3 needs --redis-url: .*other processes/],
    ] as const) {
      const demo = await runDemo([...args], 0);
      assert.equal((await demo.exited).code, 2, args.join(' '));
      assert.match(demo.lines.join('\n'), message);
      assert.match(demo.lines.join('\n'), /Run with --help to see the options\./);
    }
  });

  test('a Redis URL that does not answer is named, and the program exits 1 (no hang)', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const demo = await runDemo(['--port=0', '--redis-url', url], 0);
    assert.equal((await demo.exited).code, 1);
    assert.ok(Date.now() - started < 15_000);
    assert.match(demo.lines.join('\n'), new RegExp(`cannot use Redis at ${url}`));
  });

  test('one process: serves, and on SIGTERM drains, prints that it stopped, exits 0', async () => {
    const port = await freePort();
    const demo = await runDemo([`--port=${port}`, '--drain-timeout=200ms']);
    try {
      assert.match(
        demo.lines.join('\n'),
        new RegExp(`typhoon chat demo: http://127.0.0.1:${port}/$`, 'm'),
      );
      const login = await request(`http://127.0.0.1:${port}/auth/login`);
      assert.equal(login.status, 200);
      assert.equal(login.headers['x-chat-task'], undefined, 'no task id outside forkProcesses');
    } finally {
      const { code } = await demo.stop();
      assert.equal(code, 0);
      assert.match(demo.lines.join('\n'), /^typhoon chat demo stopped$/m);
    }
  });
});
