// examples/websocket/echo.ts: the echo server answers what its client sends, in order, and
// the script runs end to end as a program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Future } from '../../src/concurrent.ts';
import { startTestServer } from '../../src/testing.ts';
import { EchoWebSocket, makeApp, runClient } from '../../examples/websocket/echo.ts';

test('the echo example answers text with a prefix and binary as sent', async () => {
  const lines: string[] = [];
  const closed = new Future<void>();
  const original = EchoWebSocket.log;
  EchoWebSocket.log = (line) => {
    lines.push(line);
    if (line.startsWith('WebSocket closed')) closed.setResult(undefined);
  };
  const srv = await startTestServer(makeApp());
  try {
    const answers = await runClient(`ws://127.0.0.1:${srv.port}/websocket`);
    assert.deepEqual(answers.slice(0, 2), ['You said: Hello, world', 'You said: typhoon']);
    assert.ok(Buffer.isBuffer(answers[2]));
    assert.deepEqual([...(answers[2] as Buffer)], [1, 2, 3]);
    await closed;
    assert.deepEqual(lines, ['WebSocket opened', 'WebSocket closed (1000 bye)']);
  } finally {
    EchoWebSocket.log = original;
    await srv.close();
  }
});

test('the echo example runs as a script and exits by itself', async () => {
  const script = fileURLToPath(new URL('../../examples/websocket/echo.ts', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [script], { timeout: 20_000 }, (error, out) =>
      error ? reject(error) : resolve(out),
    );
  });
  assert.deepEqual(stdout.trim().split('\n'), [
    'WebSocket opened',
    'You said: Hello, world',
    'You said: typhoon',
    '<Buffer 01 02 03>',
    'WebSocket closed (1000 bye)',
  ]);
});
