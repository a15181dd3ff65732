// The chat demo end to end over HTTP: real sockets on 127.0.0.1, the real application on a
// MemoryBroker (the multi-process runs on Redis are in multiprocess.test.ts).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { MemoryBroker } from '../../src/broker/index.ts';
import { accessLog, genLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { openEvents, startChat, until } from './start-chat.ts';

interface Message {
  position: string;
  offset: number;
  body: string;
  time: number;
  author: string | null;
  /** The message rendered by the server's templates/message.html. */
  html: string;
}

interface Updates {
  messages: Message[];
  position: string | null;
  reload?: true;
}

async function post(url: string, body: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ body }).toString(),
  });
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  return (await response.json()) as T;
}

const updates = (url: string): Promise<Updates> => getJson<Updates>(url);
const bodies = (messages: Message[]): string[] => messages.map((m) => m.body);

/**
 * Run `fn` claiming the warnings a refused request logs: its access line and, when the
 * handler gave a reason, the reason on genLog (both start with the status and method).
 */
async function refused<T>(status: RegExp, fn: () => Promise<T>): Promise<T> {
  return expectLog(accessLog, status, () => expectLog(genLog, status, fn, { required: false }));
}

describe('chat demo', () => {
  test('the page: a base layout, the history through message.html, a strict CSP, its assets', async () => {
    const chat = await startChat();
    try {
      for (const text of ['first', '<script>alert(1)</script>']) {
        assert.equal((await post(chat.url('/a/message/new'), text)).status, 200);
      }
      const page = await fetch(chat.url('/'));
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      const html = await page.text();
      // base.html's frame, index.html's blocks.
      assert.match(html, /^<!doctype html>\n<html lang="en">/);
      assert.match(html, /<title>typhoon chat<\/title>/);
      const { position } = await getJson<{ position: string }>(chat.url('/a/message/history'));
      assert.match(html, new RegExp(`<ol id="inbox"[^>]* data-position="${position}"`));
      // Each message rendered by message.html, escaped.
      assert.equal(html.match(/<li class="message" id="m\d+"/g)?.length, 2);
      assert.match(html, /<span class="body">first<\/span>/);
      assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
      assert.doesNotMatch(html, /<script>alert/);
      const script = /<script src="(\/static\/chat\.js\?v=[0-9a-f]+)"/.exec(html);
      assert.ok(script, 'the script through staticUrl');

      const js = await fetch(chat.url(script[1]!));
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
      // The page inserts the server's rendering of a message; it builds no message markup.
      const source = await js.text();
      assert.match(source, /\.innerHTML = message\.html;/);
      assert.doesNotMatch(source, /createElement\('(li|span|time)'\)/);
      const css = await fetch(chat.url('/static/chat.css'));
      assert.equal(css.status, 200);
      assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
      await css.arrayBuffer();

      for (const path of ['/static/app.js', '/static/..%2fapp.ts', '/static/chat.js.map']) {
        const missing = await refused(/^40\d GET/, () => fetch(chat.url(path)));
        assert.ok([403, 404].includes(missing.status), `${path}: ${missing.status}`);
        await missing.arrayBuffer();
      }
    } finally {
      await chat.close();
    }
  });

  test('the page speaks Spanish to a browser that prefers it (Accept-Language, q-values)', async () => {
    const chat = await startChat();
    try {
      const page = async (acceptLanguage: string) =>
        (await fetch(chat.url('/'), { headers: { 'Accept-Language': acceptLanguage } })).text();
      for (const spanish of ['es', 'es-MX,es;q=0.9', 'fr-FR;q=0.9, es;q=0.8, en;q=0.1']) {
        const html = await page(spanish);
        assert.match(html, /<html lang="es">/, spanish);
        assert.match(html, />Enviar<\/button>/, spanish);
        assert.match(html, /placeholder="Escribe algo y pulsa Intro"/, spanish);
      }
      for (const english of ['en-US', 'de', 'es;q=0, en;q=0.5']) {
        const html = await page(english);
        assert.match(html, />Post<\/button>/, english);
      }
      const login = await (
        await fetch(chat.url('/auth/login'), { headers: { 'Accept-Language': 'es' } })
      ).text();
      assert.match(login, /<title>Entrar · typhoon chat<\/title>/);
      assert.match(login, /placeholder="Tu nombre"/);
    } finally {
      await chat.close();
    }
  });

  test('a posted message, with its position, reaches every waiting long poll', async () => {
    const chat = await startChat();
    try {
      const start = (await getJson<{ position: string }>(chat.url('/a/message/history'))).position;
      assert.match(start, /^0@[!-~]+$/);
      const first = updates(chat.url(`/a/message/updates?cursor=${start}`));
      const second = updates(chat.url('/a/message/updates'));
      await until(() => chat.room.polls === 2, 'two held polls');

      const response = await post(chat.url('/a/message/new'), 'hello, <b>everyone</b>');
      assert.equal(response.status, 200);
      const sent = (await response.json()) as Message;
      assert.equal(sent.offset, 1);
      assert.equal(sent.position, `1@${start.slice(2)}`);
      assert.equal(sent.body, 'hello, <b>everyone</b>');
      assert.equal(sent.author, 'guest');

      for (const received of await Promise.all([first, second])) {
        assert.deepEqual(received, { messages: [sent], position: sent.position });
      }
      await until(() => chat.room.polls === 0, 'no held polls');
    } finally {
      await chat.close();
    }
  });

  test('a hostile message reaches live clients escaped, in the markup the page history has', async () => {
    const chat = await startChat();
    const events = openEvents(chat.url('/a/message/events'));
    try {
      await events.opened;
      const { position } = await getJson<{ position: string }>(chat.url('/a/message/history'));
      const polled = updates(chat.url(`/a/message/updates?cursor=${position}`));
      await until(() => chat.room.polls === 1, 'a held poll');
      const hostile = ['<script>alert(1)</script>', `"double" 'single' & </span><b>x</b>`];
      const sent: Message[] = [];
      for (const text of hostile) {
        const response = await post(chat.url('/a/message/new'), text);
        assert.equal(response.status, 200);
        sent.push((await response.json()) as Message);
      }
      // The held poll answers as soon as the first message arrives; a new poll gets both.
      const live = (await polled).messages;
      assert.equal(live[0]!.html, sent[0]!.html, 'the held long poll');
      const polls = (await updates(chat.url(`/a/message/updates?cursor=${position}`))).messages;
      assert.equal(polls.length, 2);
      await events.until((r) => r.length === 2, 'both messages on the stream');
      const fromStream = events.messages() as Message[];

      const page = await (await fetch(chat.url('/'))).text();
      const history = await getJson<{ messages: Message[] }>(chat.url('/a/message/history'));
      for (const [i, text] of hostile.entries()) {
        const { html, offset } = sent[i]!;
        assert.match(
          html,
          new RegExp(`^<li class="message" id="m${offset}" data-offset="${offset}">`),
        );
        // Escaped: no tag, quote or ampersand of the text survives as markup.
        const body = /<span class="body">([^<]*)<\/span><\/li>\n?$/.exec(html);
        assert.ok(body, `one text-only body span in ${html}`);
        assert.equal(
          body[1],
          text
            .replaceAll('&', '&amp;')
            .replaceAll('<', '&lt;')
            .replaceAll('>', '&gt;')
            .replaceAll('"', '&quot;')
            .replaceAll("'", '&#39;'),
        );
        assert.doesNotMatch(html, /<script|<b>/);
        // The very markup the page's history renders for it, whichever way it arrived.
        assert.ok(page.includes(html), `the page's history has ${html}`);
        assert.equal(history.messages[i]!.html, html, 'the history API');
        assert.equal(polls[i]!.html, html, 'a long poll');
        assert.equal(fromStream[i]!.html, html, 'the event stream');
        // The fields the API had are all still there, unchanged.
        assert.deepEqual(Object.keys(sent[i]!).sort(), [
          'author',
          'body',
          'html',
          'offset',
          'position',
          'time',
        ]);
        assert.deepEqual({ ...fromStream[i]!, html: '' }, { ...sent[i]!, html: '' });
        assert.equal(sent[i]!.body, text);
      }
    } finally {
      events.close();
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

  test('a poll answers at once with the messages after its cursor, else holds', async () => {
    const chat = await startChat();
    try {
      const sent: Message[] = [];
      for (const text of ['one', 'two', 'three']) {
        sent.push((await (await post(chat.url('/a/message/new'), text)).json()) as Message);
      }
      const after1 = await updates(chat.url(`/a/message/updates?cursor=${sent[0]!.position}`));
      assert.deepEqual(bodies(after1.messages), ['two', 'three']);
      assert.equal(after1.position, sent[2]!.position);
      assert.deepEqual(bodies((await updates(chat.url('/a/message/updates'))).messages), [
        'one',
        'two',
        'three',
      ]);
      // Up to date: the poll is held until the next message.
      const held = updates(chat.url(`/a/message/updates?cursor=${sent[2]!.position}`));
      await until(() => chat.room.polls === 1, 'a held poll');
      await post(chat.url('/a/message/new'), 'four');
      assert.deepEqual(bodies((await held).messages), ['four']);
    } finally {
      await chat.close();
    }
  });

  test('a cursor that cannot be resumed from makes the page reload its history, never a 500', async () => {
    const chat = await startChat({ broker: new MemoryBroker({ historySize: 5 }) });
    try {
      let last!: Message;
      for (let i = 1; i <= 8; i++) {
        last = (await (await post(chat.url('/a/message/new'), `m${i}`)).json()) as Message;
      }
      const epoch = last.position.split('@')[1]!;
      for (const cursor of [
        `1@${epoch}`, // older than the 5 kept
        `99@${epoch}`, // ahead of the latest: the server lost what the page saw
        `3@another-epoch`, // from before a restart
        'abc',
        '-1@x',
        '1e3@x',
        `${'9'.repeat(400)}@x`,
        '@',
      ]) {
        const answer = await updates(
          chat.url(`/a/message/updates?cursor=${encodeURIComponent(cursor)}`),
        );
        assert.equal(answer.reload, true, cursor);
        assert.deepEqual(answer.messages, [], cursor);
      }
      // What the page then asks for: the kept history and where it ends.
      const history = await getJson<{ messages: Message[]; position: string }>(
        chat.url('/a/message/history'),
      );
      assert.deepEqual(bodies(history.messages), ['m4', 'm5', 'm6', 'm7', 'm8']);
      assert.equal(history.position, last.position);
      const resumed = await updates(chat.url(`/a/message/updates?cursor=${`3@${epoch}`}`));
      assert.deepEqual(bodies(resumed.messages), ['m4', 'm5', 'm6', 'm7', 'm8']);
    } finally {
      await chat.close();
    }
  });

  test('the page shows at most historyLimit messages: the latest ones', async () => {
    const chat = await startChat({ historyLimit: 3 });
    try {
      for (let i = 1; i <= 5; i++) await post(chat.url('/a/message/new'), `m${i}`);
      const html = await (await fetch(chat.url('/'))).text();
      assert.deepEqual(
        [...html.matchAll(/<span class="body">([^<]*)<\/span>/g)].map((m) => m[1]),
        ['m3', 'm4', 'm5'],
      );
      const history = await getJson<{ messages: Message[] }>(chat.url('/a/message/history'));
      assert.deepEqual(bodies(history.messages), ['m3', 'm4', 'm5']);
    } finally {
      await chat.close();
    }
  });

  test('a long poll whose client goes away is cancelled and its wait dropped', async () => {
    const chat = await startChat();
    try {
      const sockets = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<net.Socket>((resolve, reject) => {
              const socket = net.connect(chat.port, '127.0.0.1', () => {
                socket.write('GET /a/message/updates HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
                resolve(socket);
              });
              socket.on('error', reject);
            }),
        ),
      );
      await until(() => chat.room.polls === 3, 'three held polls');
      sockets[0]!.destroy();
      sockets[1]!.destroy();
      await until(() => chat.room.polls === 1, 'the two departed polls to be dropped');
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
      await until(() => chat.room.polls === 0, 'no held polls');
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
      assert.ok(((await missing.json()) as { error: string }).error);
      const history = await getJson<{ messages: Message[] }>(chat.url('/a/message/history'));
      assert.equal(history.messages.length, 2);
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
      const history = await getJson<{ messages: Message[] }>(chat.url('/a/message/history'));
      assert.equal(history.messages.length, 0);
    } finally {
      await chat.close();
    }
  });

  test('held connections are bounded by maxWaiters (polls and streams): one more gets 503', async () => {
    const chat = await startChat({ maxWaiters: 2 });
    const events = openEvents(chat.url('/a/message/events'));
    try {
      await events.opened;
      const held = updates(chat.url('/a/message/updates'));
      await until(() => chat.room.waiting === 2, 'a held poll and a stream');
      const third = await refused(/^503 GET/, () => fetch(chat.url('/a/message/updates')));
      assert.equal(third.status, 503);
      assert.equal(third.headers.get('retry-after'), '5');
      assert.deepEqual(await third.json(), { error: 'too many pages waiting' });
      const fourth = await refused(/^503 GET/, () => fetch(chat.url('/a/message/events')));
      assert.equal(fourth.status, 503);
      await fourth.arrayBuffer();
      await post(chat.url('/a/message/new'), 'release');
      assert.equal((await held).messages.length, 1);
      await events.until((r) => r.length === 1, 'the stream to get it');
    } finally {
      events.close();
      await chat.close();
    }
  });

  test('a held poll answers an empty list and the same cursor after pollTimeout', async () => {
    const chat = await startChat({ pollTimeout: 50 });
    try {
      const { position } = await getJson<{ position: string }>(chat.url('/a/message/history'));
      assert.deepEqual(await updates(chat.url(`/a/message/updates?cursor=${position}`)), {
        messages: [],
        position,
      });
      assert.equal(chat.room.polls, 0);
    } finally {
      await chat.close();
    }
  });
});

describe('chat demo: Server-Sent Events', () => {
  test('a stream sends what came after Last-Event-ID, then live; a reconnect gets exactly what it missed', async () => {
    const chat = await startChat();
    const clients: Array<ReturnType<typeof openEvents>> = [];
    try {
      const sent: Message[] = [];
      const say = async (text: string) => {
        sent.push((await (await post(chat.url('/a/message/new'), text)).json()) as Message);
      };
      await say('before');
      const start = sent[0]!.position;
      const first = openEvents(chat.url(`/a/message/events?lastEventId=${start}`));
      clients.push(first);
      await first.opened;
      assert.equal(first.task, null, 'one process: no task id');
      await say('live 1');
      await say('live 2');
      await first.until((r) => r.length === 2, 'two live messages');
      assert.deepEqual(
        first.received.map((e) => e.id),
        [sent[1]!.position, sent[2]!.position],
      );
      assert.deepEqual(first.messages(), [sent[1], sent[2]]);
      first.close();
      await until(() => chat.room.streams === 0, 'the closed stream to be dropped');

      await say('missed 1');
      await say('missed 2');
      // The browser's reconnect: the same URL, its last id in the Last-Event-ID header.
      const again = openEvents(chat.url(`/a/message/events?lastEventId=${start}`), {
        'Last-Event-ID': sent[2]!.position,
      });
      clients.push(again);
      await again.until((r) => r.length === 2, 'the two missed messages');
      await say('live 3');
      await again.until((r) => r.length === 3, 'the next live message');
      assert.deepEqual(bodies(again.messages() as Message[]), ['missed 1', 'missed 2', 'live 3']);
    } finally {
      for (const client of clients) client.close();
      await chat.close();
    }
  });

  test('an id that cannot be resumed from gets one reload event, never a 500', async () => {
    const chat = await startChat({ broker: new MemoryBroker({ historySize: 2 }) });
    try {
      let last!: Message;
      for (let i = 1; i <= 4; i++) {
        last = (await (await post(chat.url('/a/message/new'), `m${i}`)).json()) as Message;
      }
      const epoch = last.position.split('@')[1]!;
      for (const id of [`1@${epoch}`, `9@${epoch}`, '2@old-epoch', 'garbage', '1@']) {
        const client = openEvents(chat.url('/a/message/events'), { 'Last-Event-ID': id });
        try {
          await client.until((r) => r.length === 1, `the reload event for ${id}`);
          assert.equal(client.received[0]!.type, 'reload', id);
        } finally {
          client.close();
        }
      }
    } finally {
      await chat.close();
    }
  });
});
