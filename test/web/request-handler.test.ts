// RequestHandler's output and input API over real sockets: status, headers, write(), JSON,
// Etag/304, HEAD, redirects, error pages, arguments, getJsonBody, Finish and HTTPError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Application, Finish, RequestHandler } from '../../src/web/index.ts';
import { HTTPError, HTTPOutputError } from '../../src/errors.ts';
import { expectLog } from '../../src/testing.ts';
import { accessLog, appLog, genLog } from '../../src/log.ts';
import { get, parseResponses, sendRaw } from '../helpers/raw-http.ts';
import { serveApp, withTestServer } from '../helpers/server.ts';

test('default headers: Server, Content-Type and Date once each, whichever way they are changed', async () => {
  let seen: Record<string, string | undefined> = {};
  class H extends RequestHandler {
    override get() {
      const mode = this.getArgument('m', '');
      if (mode === 'lower') this.setHeader('content-type', 'text/plain');
      else if (mode === 'clear') this.clearHeader('Content-Type');
      else if (mode === 'json') this.write({ a: 1 });
      else if (mode === 'etag') this.setHeader('Etag', '"mine"');
      else if (mode === 'map') {
        const h = this.responseHeaders;
        seen = { server: h.get('Server'), type: h.get('Content-Type'), date: h.get('Date') };
        this.setHeader('Content-Type', 'text/x-after-map');
      }
      if (mode !== 'json') this.write('hi');
    }
  }
  await withTestServer(new Application([['/', H]]), async (srv) => {
    const one = async (m: string, extra: Record<string, string> = {}) => {
      const { text } = await sendRaw(srv.port, get(`/?m=${m}`, extra));
      return { text, res: parseResponses(text)[0]! };
    };
    const count = (text: string, name: string) =>
      text.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name}:`)).length;
    const plain = await one('');
    assert.equal(plain.res.headers['server'], 'TyphoonServer/0.1.0');
    assert.equal(plain.res.headers['content-type'], 'text/html; charset=UTF-8');
    assert.match(
      plain.res.headers['date'] ?? '',
      /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
    );
    assert.equal(plain.res.headers['content-length'], '2');
    for (const name of ['server', 'content-type', 'date', 'etag', 'content-length'])
      assert.equal(count(plain.text, name), 1, name);
    const lower = await one('lower');
    assert.equal(lower.res.headers['content-type'], 'text/plain');
    assert.equal(count(lower.text, 'content-type'), 1);
    assert.equal(count(lower.text, 'date'), 1);
    const cleared = await one('clear');
    assert.equal(count(cleared.text, 'content-type'), 0);
    assert.equal(
      (await one('json')).res.headers['content-type'],
      'application/json; charset=UTF-8',
    );
    const etag = await one('etag');
    assert.equal(etag.res.headers['etag'], '"mine"');
    // As in Tornado, the automatic 304 comes with the automatic Etag only.
    assert.equal((await one('etag', { 'If-None-Match': '"mine"' })).res.status, 200);
    const map = await one('map');
    assert.equal(seen.server, 'TyphoonServer/0.1.0');
    assert.equal(seen.type, 'text/html; charset=UTF-8');
    assert.match(seen.date ?? '', / GMT$/);
    assert.equal(map.res.headers['content-type'], 'text/x-after-map');
    assert.equal(count(map.text, 'date'), 1);
    const notModified = await one('', { 'If-None-Match': plain.res.headers['etag']! });
    assert.equal(notModified.res.status, 304);
    assert.equal(count(notModified.text, 'content-type'), 0);
    assert.equal(count(notModified.text, 'content-length'), 0);
  });
});

test('setStatus: standard reason, custom reason, unknown code and control characters', async () => {
  class S extends RequestHandler {
    override get() {
      const mode = this.getArgument('m');
      if (mode === 'custom') this.setStatus(299, 'Fine Thanks');
      else if (mode === 'unknown') this.setStatus(299);
      else if (mode === 'ctl') this.setStatus(201, 'Bad\r\nX-Evil: 1');
      else if (mode === 'wide') this.setStatus(201, 'Fine €');
      else this.setStatus(201);
      this.write(String(this.getStatus()));
    }
  }
  await withTestServer(new Application([['/', S]]), async (srv) => {
    const reason = async (m: string) =>
      parseResponses((await sendRaw(srv.port, get(`/?m=${m}`))).text)[0]!;
    assert.equal((await reason('std')).reason, 'Created');
    assert.equal((await reason('custom')).reason, 'Fine Thanks');
    assert.equal((await reason('unknown')).reason, 'Unknown');
    const ctl = await reason('ctl');
    assert.equal(ctl.reason, 'Unknown');
    assert.equal(ctl.headers['x-evil'], undefined);
    // A status line is Latin-1: a reason past it would be mangled on the wire.
    assert.equal((await reason('wide')).reason, 'Unknown');
  });
});

test('setHeader/addHeader/clearHeader, and CR/LF in a header refuses to send anything', async () => {
  class H extends RequestHandler {
    override get() {
      this.setHeader('X-One', 'a');
      this.addHeader('X-Multi', '1');
      this.addHeader('X-Multi', '2');
      this.setHeader('X-Num', 42);
      this.setHeader('X-Gone', 'x');
      this.clearHeader('X-Gone');
      if (this.getArgument('evil', '') === '1') this.setHeader('X-Bad', 'a\r\nSet-Cookie: pwn=1');
      if (this.getArgument('evil', '') === '2') this.setHeader('X-Bad\r\nY', 'a');
      // Header bytes are Latin-1: a wider character, in a field-backed header or another,
      // is refused where it is set.
      if (this.getArgument('evil', '') === '3') this.setHeader('Content-Type', 'text/plain; x=€');
      if (this.getArgument('evil', '') === '4') this.setHeader('X-Bad', 'caf\u0107');
      if (this.getArgument('evil', '') === '5') this.setHeader('X-Latin1', 'café');
      if (this.getArgument('evil', '') === '6') this.setHeader('', 'a');
      this.write('ok');
    }
  }
  await withTestServer(new Application([['/', H]]), async (srv) => {
    const res = await srv.fetch('/');
    assert.equal(res.headers.get('x-one'), 'a');
    assert.equal(res.headers.get('x-multi'), '1, 2');
    assert.equal(res.headers.get('x-num'), '42');
    assert.equal(res.headers.get('x-gone'), null);
    assert.equal(res.headers.get('server'), 'TyphoonServer/0.1.0');
    // Latin-1 itself is allowed.
    const latin1 = await srv.fetch('/?evil=5');
    assert.equal(latin1.status, 200);
    assert.ok(latin1.headers.get('x-latin1')!.startsWith('caf'));
    await expectLog(accessLog, /^500/, async () => {
      for (const evil of ['1', '2', '3', '4', '6']) {
        await expectLog(appLog, /Uncaught exception GET/, async () => {
          const bad = await srv.fetch(`/?evil=${evil}`);
          assert.equal(bad.status, 500);
          assert.equal(bad.headers.get('set-cookie'), null);
          assert.equal(bad.headers.get('x-bad'), null);
          await bad.text();
        });
      }
    });
  });
});

test('write(): strings and bytes concatenate; objects become JSON; arrays are a TypeError', async () => {
  class W extends RequestHandler {
    override get() {
      const kind = this.getArgument('k');
      if (kind === 'mixed') {
        this.write('a');
        this.write(Buffer.from('b'));
        this.write(new Uint8Array([0x63]));
      } else if (kind === 'json') {
        this.write({ x: 1, s: '</script>' });
      } else {
        try {
          this.write([1, 2] as unknown as Record<string, unknown>);
        } catch (e) {
          this.write(e instanceof TypeError ? 'TypeError' : 'other');
        }
      }
    }
  }
  await withTestServer(new Application([['/', W]]), async (srv) => {
    const mixed = await srv.fetch('/?k=mixed');
    assert.equal(await mixed.text(), 'abc');
    assert.equal(mixed.headers.get('content-length'), '3');
    const json = await srv.fetch('/?k=json');
    assert.equal(json.headers.get('content-type'), 'application/json; charset=UTF-8');
    const text = await json.text();
    assert.equal(text, '{"x":1,"s":"<\\/script>"}');
    assert.deepEqual(JSON.parse(text), { x: 1, s: '</script>' });
    assert.equal(await (await srv.fetch('/?k=array')).text(), 'TypeError');
  });
});

test('Etag on 200 GET; matching If-None-Match gives 304 without body; HEAD keeps Content-Length', async () => {
  class E extends RequestHandler {
    override get() {
      this.write('same body');
    }
    override head() {
      this.write('same body');
    }
  }
  await withTestServer(new Application([['/', E]]), async (srv) => {
    const first = await srv.fetch('/');
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]{40}"$/);
    await first.text();
    const again = await srv.fetch('/', { headers: { 'If-None-Match': etag! } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    const weak = await srv.fetch('/', { headers: { 'If-None-Match': `"x", W/${etag!}` } });
    assert.equal(weak.status, 304);
    await weak.text();
    const other = await srv.fetch('/', { headers: { 'If-None-Match': '"nope"' } });
    assert.equal(other.status, 200);
    await other.text();
    const raw = await sendRaw(srv.port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const [head] = parseResponses(raw.text, 1);
    assert.equal(head!.status, 200);
    assert.equal(head!.headers['content-length'], '9');
    assert.ok(raw.text.endsWith('\r\n\r\n'), 'no body after a HEAD response');
  });
});

test('HEAD without head() answers 405, unknown methods 405, unsupported verbs 405', async () => {
  class G extends RequestHandler {
    override get() {
      this.write('x');
    }
  }
  await withTestServer(new Application([['/', G]]), async (srv) => {
    await expectLog(accessLog, /^405/, async () => {
      const raw = await sendRaw(
        srv.port,
        'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      assert.equal(parseResponses(raw.text, 1)[0]!.status, 405);
      assert.equal((await srv.fetch('/', { method: 'POST', body: 'a' })).status, 405);
      const weird = await sendRaw(
        srv.port,
        'PROPFIND / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      assert.equal(parseResponses(weird.text)[0]!.status, 405);
    });
  });
});

test('redirect(): 302 by default, 301 permanent, explicit status; refuses after flush', async () => {
  class R extends RequestHandler {
    override async get() {
      const m = this.getArgument('m');
      if (m === 'perm') this.redirect('/there', { permanent: true });
      else if (m === 'status') this.redirect('/there', { status: 307 });
      else if (m === 'late') {
        this.write('x');
        await this.flush();
        try {
          this.redirect('/there');
        } catch (e) {
          this.write(e instanceof HTTPOutputError ? 'refused' : 'other');
        }
      } else this.redirect('/there');
    }
  }
  await withTestServer(new Application([['/', R]]), async (srv) => {
    const plain = await srv.fetch('/?m=x', { redirect: 'manual' });
    assert.equal(plain.status, 302);
    assert.equal(plain.headers.get('location'), '/there');
    assert.equal((await srv.fetch('/?m=perm', { redirect: 'manual' })).status, 301);
    assert.equal((await srv.fetch('/?m=status', { redirect: 'manual' })).status, 307);
    assert.equal(await (await srv.fetch('/?m=late')).text(), 'xrefused');
  });
});

test('HTTPError: status and reason; log message goes to the log, never to the client', async () => {
  class X extends RequestHandler {
    override get() {
      if (this.getArgument('r', '') === '1')
        throw new HTTPError(409, undefined, { reason: 'Already There' });
      throw new HTTPError(403, 'secret detail %s', 'abc');
    }
  }
  await withTestServer(new Application([['/', X]]), async (srv) => {
    await expectLog(accessLog, /^40[39]/, async () => {
      await expectLog(genLog, /^403 GET \/ \(127\.0\.0\.1\): secret detail abc$/, async () => {
        const res = await srv.fetch('/');
        assert.equal(res.status, 403);
        const body = await res.text();
        assert.equal(body, '<html><title>403: Forbidden</title><body>403: Forbidden</body></html>');
      });
      const raw = await sendRaw(srv.port, get('/?r=1'));
      const [res] = parseResponses(raw.text);
      assert.equal(res!.status, 409);
      assert.equal(res!.reason, 'Already There');
      assert.match(res!.body, /409: Already There/);
    });
  });
});

test('500 page: traceback only with serveTraceback', async () => {
  class Boom extends RequestHandler {
    override get() {
      throw new Error('kaboom-secret');
    }
  }
  for (const serveTraceback of [false, true]) {
    await withTestServer(new Application([['/', Boom]], { serveTraceback }), async (srv) => {
      await expectLog(accessLog, /^500/, async () => {
        await expectLog(appLog, /Uncaught exception GET \/ /, async () => {
          const res = await srv.fetch('/');
          assert.equal(res.status, 500);
          const body = await res.text();
          if (serveTraceback) {
            assert.match(body, /kaboom-secret/);
            assert.match(body, /request-handler\.test\.ts/);
          } else {
            assert.equal(
              body,
              '<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>',
            );
          }
        });
      });
    });
  }
});

test('sendError discards buffered output; writeError can be overridden', async () => {
  class Custom extends RequestHandler {
    override get() {
      this.write('partial');
      this.sendError(418);
    }
    override writeError(status: number) {
      this.write({ error: status });
    }
  }
  await withTestServer(new Application([['/', Custom]]), async (srv) => {
    await expectLog(accessLog, /^418/, async () => {
      const res = await srv.fetch('/');
      assert.equal(res.status, 418);
      assert.deepEqual(await res.json(), { error: 418 });
    });
  });
});

test('throw new Finish(chunk) ends the request normally from prepare() or the method', async () => {
  class F extends RequestHandler {
    override prepare() {
      if (this.getArgument('early', '') === '1') {
        this.setStatus(401);
        throw new Finish('stopped early');
      }
    }
    override get() {
      throw new Finish({ done: true });
    }
  }
  await withTestServer(new Application([['/', F]]), async (srv) => {
    const res = await srv.fetch('/');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { done: true });
    await expectLog(accessLog, /^401/, async () => {
      const early = await srv.fetch('/?early=1');
      assert.equal(early.status, 401);
      assert.equal(await early.text(), 'stopped early');
    });
  });
});

test('getArgument: query and body, default, strip, control characters, missing → 400', async () => {
  class A extends RequestHandler {
    override post() {
      this.write({
        a: this.getArgument('a'),
        nostrip: this.getArgument('a', null, false),
        ctl: this.getArgument('c', null),
        def: this.getArgument('missing', 'dflt'),
        all: this.getArguments('m'),
        q: this.getQueryArguments('m'),
        b: this.getBodyArguments('m'),
        qa: this.getQueryArgument('a', null),
        ba: this.getBodyArgument('b'),
        proto: this.getArgument('__proto__', null),
      });
    }
    override get() {
      this.write(this.getArgument('needed'));
    }
  }
  await withTestServer(new Application([['/', A]]), async (srv) => {
    const res = await srv.fetch('/?a=+%20x%20+&m=1&c=a%01b&__proto__=p', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'm=2&b=%C3%A9t%C3%A9',
    });
    assert.deepEqual(await res.json(), {
      a: 'x',
      nostrip: '  x  ',
      ctl: 'a b',
      def: 'dflt',
      all: ['1', '2'],
      q: ['1'],
      b: ['2'],
      qa: 'x',
      ba: 'été',
      proto: 'p',
    });
    await expectLog(accessLog, /^400/, async () => {
      await expectLog(genLog, /400 GET .*Missing argument needed/, async () => {
        const missing = await srv.fetch('/');
        assert.equal(missing.status, 400);
        await missing.text();
      });
      await expectLog(genLog, /400 GET .*Invalid unicode/, async () => {
        const bad = await srv.fetch('/?needed=%FF');
        assert.equal(bad.status, 400);
        await bad.text();
      });
      await expectLog(genLog, /400 GET .*percent-encoding/, async () => {
        const bad = await srv.fetch('/?needed=%zz');
        assert.equal(bad.status, 400);
        await bad.text();
      });
    });
  });
});

test('multipart bodies: fields and files', async () => {
  class U extends RequestHandler {
    override post() {
      const file = this.files.upload?.[0];
      this.write({
        field: this.getBodyArgument('field'),
        filename: file?.filename ?? null,
        type: file?.contentType ?? null,
        content: file?.body.toString() ?? null,
      });
    }
  }
  await withTestServer(new Application([['/', U]]), async (srv) => {
    const form = new FormData();
    form.append('field', 'value');
    form.append('upload', new Blob(['file-bytes'], { type: 'text/plain' }), 'a.txt');
    const res = await srv.fetch('/', { method: 'POST', body: form });
    assert.deepEqual(await res.json(), {
      field: 'value',
      filename: 'a.txt',
      type: 'text/plain',
      content: 'file-bytes',
    });
  });
});

test('getJsonBody: parses JSON; 415 on other types; 400 on malformed JSON or forbidden keys', async () => {
  class J extends RequestHandler {
    override post() {
      this.write({ got: this.getJsonBody() as Record<string, unknown> });
    }
  }
  const srv = await serveApp([['/', J]]);
  const post = (body: string, type = 'application/json') =>
    srv.fetch('/', { method: 'POST', headers: { 'Content-Type': type }, body });
  try {
    assert.deepEqual(await (await post('{"a":[1,2]}')).json(), { got: { a: [1, 2] } });
    assert.deepEqual(await (await post('{"a":1}', 'application/vnd.x+json')).json(), {
      got: { a: 1 },
    });
    await expectLog(accessLog, /^41[05]|^400/, async () => {
      await expectLog(genLog, /^415/, async () => {
        assert.equal((await post('{}', 'text/plain')).status, 415);
      });
      await expectLog(genLog, /^400 .*malformed JSON/, async () => {
        assert.equal((await post('{"a":')).status, 400);
      });
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        await expectLog(genLog, new RegExp(`^400 .*forbidden key ${key}`), async () => {
          assert.equal((await post(`{"x":{"${key}":{"polluted":1}}}`)).status, 400);
        });
      }
    });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  } finally {
    await srv.close();
  }
});

test('getCookie reads request cookies', async () => {
  class C extends RequestHandler {
    override get() {
      this.write({ a: this.getCookie('a') ?? null, d: this.getCookie('zz', 'dflt') ?? null });
    }
  }
  await withTestServer(new Application([['/', C]]), async (srv) => {
    const res = await srv.fetch('/', { headers: { Cookie: 'a=1; b="2"' } });
    assert.deepEqual(await res.json(), { a: '1', d: 'dflt' });
  });
});

test('setDefaultHeaders runs for every response, including error pages', async () => {
  class D extends RequestHandler {
    override setDefaultHeaders() {
      this.setHeader('X-Frame-Options', 'DENY');
    }
    override get() {
      throw new HTTPError(404);
    }
  }
  await withTestServer(new Application([['/', D]]), async (srv) => {
    await expectLog(accessLog, /^404/, async () => {
      const res = await srv.fetch('/');
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      await res.text();
    });
  });
});

test('headers that went out stay readable: responseHeaders after flush() shows what was sent', async () => {
  let seen: Array<string | undefined> = [];
  class Stream extends RequestHandler {
    override async get() {
      this.setHeader('X-One', 'a');
      this.addHeader('X-Two', 'b');
      this.addHeader('X-Two', 'c');
      this.write('one,');
      await this.flush();
      // The map was sent and kept in a compact form; asking for it gives it back.
      const headers = this.responseHeaders;
      seen = [headers.get('X-One'), headers.getList('X-Two').join('|'), headers.get('Server')];
      this.setHeader('X-Late', 'ignored'); // too late for the wire, and no error
      seen.push(this.responseHeaders.get('X-Late'));
      this.write('two');
    }
  }
  await withTestServer(new Application([['/', Stream]]), async (srv) => {
    const res = await srv.fetch('/');
    assert.equal(await res.text(), 'one,two');
    assert.equal(res.headers.get('x-one'), 'a');
    assert.equal(res.headers.get('x-two'), 'b, c');
    assert.equal(res.headers.get('x-late'), null);
    assert.deepEqual(seen, ['a', 'b|c', 'TyphoonServer/0.1.0', 'ignored']);
  });
});

test('flush() sends headers and data before finish; write after finish throws', async () => {
  let afterFinish: unknown;
  class Stream extends RequestHandler {
    override async get() {
      this.write('one,');
      await this.flush();
      await new Promise((r) => setTimeout(r, 20));
      this.write('two');
      await this.finish();
      try {
        this.write('three');
      } catch (e) {
        afterFinish = e;
      }
    }
  }
  await withTestServer(new Application([['/', Stream]]), async (srv) => {
    const res = await srv.fetch('/');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    assert.equal(await res.text(), 'one,two');
    assert.ok(afterFinish instanceof HTTPOutputError);
  });
});
