// The chat demo end to end over HTTP: real sockets on 127.0.0.1, the real application.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { accessLog, genLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { MessageBuffer } from '../../demo/chat/message-buffer.ts';
import { startChat, until } from './start-chat.ts';

interface Message {
  id: number;
  body: string;
  time: number;
  author: string | null;
}

async function post(url: string, body: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ body }).toString(),
  });
}

async function updates(url: string): Promise<Message[]> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return ((await response.json()) as { messages: Message[] }).messages;
}

/**
 * Run `fn` claiming the warnings a refused request logs: its access line and, when the
 * handler gave a reason, the reason on genLog (both start with the status and method).
 */
async function refused<T>(status: RegExp, fn: () => Promise<T>): Promise<T> {
  return expectLog(accessLog, status, () => expectLog(genLog, status, fn, { required: false }));
}

describe('chat demo', () => {
  test('serves the page with a strict CSP and its two assets, nothing else', async () => {
    const chat = await startChat();
    try {
      const page = await fetch(chat.url('/'));
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      const html = await page.text();
      assert.match(html, /<ol id="inbox"/);
      assert.match(html, /src="\/static\/chat\.js"/);

      const js = await fetch(chat.url('/static/chat.js'));
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.match(await js.text(), /textContent/);
      const css = await fetch(chat.url('/static/chat.css'));
      assert.equal(css.status, 200);
      assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
      await css.arrayBuffer();

      for (const path of ['/static/app.js', '/static/..%2fapp.ts', '/static/chat.js.map']) {
        const missing = await refused(/^404 GET/, () => fetch(chat.url(path)));
        assert.equal(missing.status, 404, path);
        await missing.arrayBuffer();
      }
    } finally {
      await chat.close();
    }
  });

  test('a posted message reaches every waiting long poll', async () => {
    const chat = await startChat();
    try {
      // Two pages waiting with nothing to show yet.
      const first = updates(chat.url('/a/message/updates?cursor=0'));
      const second = updates(chat.url('/a/message/updates'));
      await until(() => chat.messages.waiting === 2, 'two held polls');

      const response = await post(chat.url('/a/message/new'), 'hello, <b>everyone</b>');
      assert.equal(response.status, 200);
      const sent = (await response.json()) as Message;
      assert.equal(sent.id, 1);
      assert.equal(sent.body, 'hello, <b>everyone</b>');

      for (const received of await Promise.all([first, second])) {
        assert.deepEqual(received, [sent]);
      }
      await until(() => chat.messages.waiting === 0, 'no held polls');
    } finally {
      await chat.close();
    }
  });

  test('JSON posts work too', async () => {
    const chat = await startChat();
    try {
      const response = await fetch(chat.url('/a/message/new'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ body: '  from a script  ' }),
      });
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as Message).body, 'from a script');
      const bad = await refused(/^400 POST/, () =>
        fetch(chat.url('/a/message/new'), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ body: 42 }),
        }),
      );
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: string }).error, /string "body"/);
    } finally {
      await chat.close();
    }
  });

  test('a poll answers at once with the messages newer than its cursor', async () => {
    const chat = await startChat();
    try {
      for (const text of ['one', 'two', 'three']) {
        assert.equal((await post(chat.url('/a/message/new'), text)).status, 200);
      }
      const bodies = (messages: Message[]) => messages.map((m) => m.body);
      assert.deepEqual(bodies(await updates(chat.url('/a/message/updates?cursor=1'))), [
        'two',
        'three',
      ]);
      assert.deepEqual(bodies(await updates(chat.url('/a/message/updates'))), [
        'one',
        'two',
        'three',
      ]);
      // A cursor from before a server restart (ahead of every id) gets everything held.
      assert.deepEqual(bodies(await updates(chat.url('/a/message/updates?cursor=999'))), [
        'one',
        'two',
        'three',
      ]);
      // Up to date: the poll is held.
      const held = updates(chat.url('/a/message/updates?cursor=3'));
      await until(() => chat.messages.waiting === 1, 'a held poll');
      await post(chat.url('/a/message/new'), 'four');
      assert.deepEqual(bodies(await held), ['four']);
    } finally {
      await chat.close();
    }
  });

  test('a long poll whose client goes away is cancelled and its waiter removed', async () => {
    const chat = await startChat();
    try {
      const sockets = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<net.Socket>((resolve, reject) => {
              const socket = net.connect(chat.port, '127.0.0.1', () => {
                socket.write('GET /a/message/updates?cursor=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
                resolve(socket);
              });
              socket.on('error', reject);
            }),
        ),
      );
      await until(() => chat.messages.waiting === 3, 'three held polls');
      sockets[0]!.destroy();
      sockets[1]!.destroy();
      await until(() => chat.messages.waiting === 1, 'the two departed polls to be dropped');
      // The one left still gets its message; nothing was logged as an error (the test setup
      // fails the test on any unclaimed warning or error).
      const received = new Promise<string>((resolve) => {
        let text = '';
        sockets[2]!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('survivor')) resolve(text);
        });
      });
      assert.equal((await post(chat.url('/a/message/new'), 'survivor')).status, 200);
      assert.match(await received, /^HTTP\/1\.1 200 /);
      sockets[2]!.destroy();
      assert.equal(chat.messages.waiting, 0);
    } finally {
      await chat.close();
    }
  });

  test('history is bounded: only the last maxHistory messages are kept', async () => {
    const chat = await startChat({ messages: new MessageBuffer({ maxHistory: 5 }) });
    try {
      for (let i = 1; i <= 8; i++) {
        assert.equal((await post(chat.url('/a/message/new'), `m${i}`)).status, 200);
      }
      assert.equal(chat.messages.size, 5);
      const ids = (messages: Message[]) => messages.map((m) => m.id);
      assert.deepEqual(ids(await updates(chat.url('/a/message/updates'))), [4, 5, 6, 7, 8]);
      // A page that fell behind the history gets what is left, not an error.
      assert.deepEqual(
        ids(await updates(chat.url('/a/message/updates?cursor=1'))),
        [4, 5, 6, 7, 8],
      );
      assert.deepEqual(ids(await updates(chat.url('/a/message/updates?cursor=6'))), [7, 8]);
    } finally {
      await chat.close();
    }
  });

  test('message length limit: at the limit accepted, one past refused with a reason', async () => {
    const chat = await startChat({ maxMessageLength: 10 });
    try {
      // Characters, not bytes or UTF-16 units: ten emoji are ten characters.
      for (const ok of ['x'.repeat(10), '🙂'.repeat(10)]) {
        assert.equal((await post(chat.url('/a/message/new'), ok)).status, 200, ok);
      }
      const tooLong = await refused(/^400 POST/, () =>
        post(chat.url('/a/message/new'), 'x'.repeat(11)),
      );
      assert.equal(tooLong.status, 400);
      assert.match(((await tooLong.json()) as { error: string }).error, /too long/);
      const empty = await refused(/^400 POST/, () => post(chat.url('/a/message/new'), '   '));
      assert.equal(empty.status, 400);
      assert.match(((await empty.json()) as { error: string }).error, /empty/);
      const missing = await refused(/^400 POST/, () =>
        fetch(chat.url('/a/message/new'), { method: 'POST', body: '' }),
      );
      assert.equal(missing.status, 400);
      await missing.arrayBuffer();
      assert.equal(chat.messages.size, 2);
    } finally {
      await chat.close();
    }
  });

  test('request bodies past 64 KiB are refused with 413', async () => {
    const chat = await startChat();
    try {
      const response = await refused(/^413 POST|^4\d\d POST/, () =>
        post(chat.url('/a/message/new'), 'x'.repeat(70 * 1024)),
      ).catch((error: unknown) => error);
      // The server may close the connection before the client has sent the whole body.
      if (response instanceof Response) {
        assert.equal(response.status, 413);
        await response.arrayBuffer();
      }
      assert.equal(chat.messages.size, 0);
    } finally {
      await chat.close();
    }
  });

  test('a malformed cursor is a 400, not a 500', async () => {
    const chat = await startChat();
    try {
      for (const cursor of ['abc', '-1', '1e3', '9'.repeat(16)]) {
        const response = await refused(/^400 GET/, () =>
          fetch(chat.url(`/a/message/updates?cursor=${cursor}`)),
        );
        assert.equal(response.status, 400, cursor);
        await response.arrayBuffer();
      }
    } finally {
      await chat.close();
    }
  });

  test('held polls are bounded by maxWaiters: one more gets 503', async () => {
    const chat = await startChat({ maxWaiters: 2 });
    try {
      const held = [
        updates(chat.url('/a/message/updates')),
        updates(chat.url('/a/message/updates')),
      ];
      await until(() => chat.messages.waiting === 2, 'two held polls');
      const third = await refused(/^503 GET/, () => fetch(chat.url('/a/message/updates')));
      assert.equal(third.status, 503);
      assert.equal(third.headers.get('retry-after'), '5');
      await third.arrayBuffer();
      await post(chat.url('/a/message/new'), 'release');
      for (const messages of await Promise.all(held)) assert.equal(messages.length, 1);
    } finally {
      await chat.close();
    }
  });

  test('a held poll answers an empty list after pollTimeout, so the page asks again', async () => {
    const chat = await startChat({ pollTimeout: 50 });
    try {
      assert.deepEqual(await updates(chat.url('/a/message/updates?cursor=0')), []);
      assert.equal(chat.messages.waiting, 0);
    } finally {
      await chat.close();
    }
  });
});
