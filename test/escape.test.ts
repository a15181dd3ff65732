// typhoon/escape against Tornado's own escape test cases (tornado/test/escape_test.py: the
// inputs and expected outputs are Tornado's), plus the details DESIGN.md adds, and a
// differential run against Python Tornado's escape module when python3-tornado is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as escape from '../src/escape.ts';
import {
  jsonDecode,
  jsonEncode,
  linkify,
  recursiveUnicode,
  squeeze,
  toUnicode,
  urlEscape,
  urlUnescape,
  utf8,
  xhtmlEscape,
  xhtmlUnescape,
  type LinkifyOptions,
} from '../src/escape.ts';

const LINKIFY_CASES: Array<[string, LinkifyOptions, string]> = [
  ['hello http://world.com/!', {}, 'hello <a href="http://world.com/">http://world.com/</a>!'],
  [
    'hello http://world.com/with?param=true&stuff=yes',
    {},
    'hello <a href="http://world.com/with?param=true&amp;stuff=yes">http://world.com/with?param=true&amp;stuff=yes</a>',
  ],
  [
    'http://url.com/w(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    {},
    '<a href="http://url.com/w">http://url.com/w</a>(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  ],
  [
    'http://url.com/withmany.......................................',
    {},
    '<a href="http://url.com/withmany">http://url.com/withmany</a>.......................................',
  ],
  [
    'http://url.com/withmany((((((((((((((((((((((((((((((((((a)',
    {},
    '<a href="http://url.com/withmany">http://url.com/withmany</a>((((((((((((((((((((((((((((((((((a)',
  ],
  [
    'http://foo.com/blah_blah',
    {},
    '<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>',
  ],
  [
    'http://foo.com/blah_blah/',
    {},
    '<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>',
  ],
  [
    '(Something like http://foo.com/blah_blah)',
    {},
    '(Something like <a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>)',
  ],
  [
    'http://foo.com/blah_blah_(wikipedia)',
    {},
    '<a href="http://foo.com/blah_blah_(wikipedia)">http://foo.com/blah_blah_(wikipedia)</a>',
  ],
  [
    'http://foo.com/blah_(blah)_(wikipedia)_blah',
    {},
    '<a href="http://foo.com/blah_(blah)_(wikipedia)_blah">http://foo.com/blah_(blah)_(wikipedia)_blah</a>',
  ],
  [
    '(Something like http://foo.com/blah_blah_(wikipedia))',
    {},
    '(Something like <a href="http://foo.com/blah_blah_(wikipedia)">http://foo.com/blah_blah_(wikipedia)</a>)',
  ],
  [
    'http://foo.com/blah_blah.',
    {},
    '<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>.',
  ],
  [
    'http://foo.com/blah_blah/.',
    {},
    '<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>.',
  ],
  [
    '<http://foo.com/blah_blah>',
    {},
    '&lt;<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>&gt;',
  ],
  [
    '<http://foo.com/blah_blah/>',
    {},
    '&lt;<a href="http://foo.com/blah_blah/">http://foo.com/blah_blah/</a>&gt;',
  ],
  [
    'http://foo.com/blah_blah,',
    {},
    '<a href="http://foo.com/blah_blah">http://foo.com/blah_blah</a>,',
  ],
  [
    'http://www.example.com/wpstyle/?p=364.',
    {},
    '<a href="http://www.example.com/wpstyle/?p=364">http://www.example.com/wpstyle/?p=364</a>.',
  ],
  [
    'rdar://1234',
    { permittedProtocols: ['http', 'rdar'] },
    '<a href="rdar://1234">rdar://1234</a>',
  ],
  ['rdar:/1234', { permittedProtocols: ['rdar'] }, '<a href="rdar:/1234">rdar:/1234</a>'],
  [
    'http://userid:password@example.com:8080',
    {},
    '<a href="http://userid:password@example.com:8080">http://userid:password@example.com:8080</a>',
  ],
  [
    'http://userid@example.com',
    {},
    '<a href="http://userid@example.com">http://userid@example.com</a>',
  ],
  [
    'http://userid@example.com:8080',
    {},
    '<a href="http://userid@example.com:8080">http://userid@example.com:8080</a>',
  ],
  [
    'http://userid:password@example.com',
    {},
    '<a href="http://userid:password@example.com">http://userid:password@example.com</a>',
  ],
  [
    'message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e',
    { permittedProtocols: ['http', 'message'] },
    '<a href="message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e">' +
      'message://%3c330e7f8409726r6a4ba78dkf1fd71420c1bf6ff@mail.gmail.com%3e</a>',
  ],
  ['http://\u27a1.ws/\u4a39', {}, '<a href="http://\u27a1.ws/\u4a39">http://\u27a1.ws/\u4a39</a>'],
  [
    '<tag>http://example.com</tag>',
    {},
    '&lt;tag&gt;<a href="http://example.com">http://example.com</a>&lt;/tag&gt;',
  ],
  [
    'Just a www.example.com link.',
    {},
    'Just a <a href="http://www.example.com">www.example.com</a> link.',
  ],
  ['Just a www.example.com link.', { requireProtocol: true }, 'Just a www.example.com link.'],
  [
    'A http://reallylong.com/link/that/exceedsthelenglimit.html',
    { requireProtocol: true, shorten: true },
    'A <a href="http://reallylong.com/link/that/exceedsthelenglimit.html"' +
      ' title="http://reallylong.com/link/that/exceedsthelenglimit.html">http://reallylong.com/link...</a>',
  ],
  [
    'A http://reallylongdomainnamethatwillbetoolong.com/hi!',
    { shorten: true },
    'A <a href="http://reallylongdomainnamethatwillbetoolong.com/hi"' +
      ' title="http://reallylongdomainnamethatwillbetoolong.com/hi">http://reallylongdomainnametha...</a>!',
  ],
  [
    'A file:///passwords.txt and http://web.com link',
    {},
    'A file:///passwords.txt and <a href="http://web.com">http://web.com</a> link',
  ],
  [
    'A file:///passwords.txt and http://web.com link',
    { permittedProtocols: ['file'] },
    'A <a href="file:///passwords.txt">file:///passwords.txt</a> and http://web.com link',
  ],
  [
    'www.external-link.com',
    { extraParams: 'rel="nofollow" class="external"' },
    '<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>',
  ],
  [
    'www.external-link.com and www.internal-link.com/blogs extra',
    {
      extraParams: (href) =>
        href.startsWith('http://www.internal-link.com')
          ? 'class="internal"'
          : 'rel="nofollow" class="external"',
    },
    '<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>' +
      ' and <a href="http://www.internal-link.com/blogs" class="internal">www.internal-link.com/blogs</a> extra',
  ],
  [
    'www.external-link.com',
    { extraParams: () => '    rel="nofollow" class="external"  ' },
    '<a href="http://www.external-link.com" rel="nofollow" class="external">www.external-link.com</a>',
  ],
];

test("linkify gives Tornado's output for every case of its test table", () => {
  for (const [text, options, html] of LINKIFY_CASES) {
    assert.equal(linkify(text, options), html, text);
  }
});

test('linkify takes UTF-8 bytes and escapes everything that is not a link', () => {
  assert.equal(
    linkify(Buffer.from('<b>é</b> www.x.com')),
    '&lt;b&gt;é&lt;/b&gt; <a href="http://www.x.com">www.x.com</a>',
  );
  assert.equal(linkify('javascript:alert(1)', {}), 'javascript:alert(1)');
  assert.equal(linkify('"http://x.com/"'), '&quot;<a href="http://x.com/">http://x.com/</a>&quot;');
});

test('linkify stays fast on the inputs that made older URL patterns exponential', () => {
  const start = performance.now();
  linkify('http://x.com/' + '('.repeat(5000) + 'a');
  linkify('http://x.com/a' + '.'.repeat(5000));
  linkify('www.' + 'a&amp;'.repeat(2000) + '!');
  assert.ok(performance.now() - start < 2000, 'linkify took over 2 s');
});

test('xhtmlEscape and xhtmlUnescape: Tornado cases, both ways', () => {
  const cases: Array<[string, string]> = [
    ['<foo>', '&lt;foo&gt;'],
    ['<>&"\'', '&lt;&gt;&amp;&quot;&#39;'],
    ['&amp;', '&amp;amp;'],
    ['<\u00e9>', '&lt;\u00e9&gt;'],
  ];
  for (const [raw, escaped] of cases) {
    assert.equal(xhtmlEscape(raw), escaped);
    assert.equal(xhtmlEscape(Buffer.from(raw)), escaped);
    assert.equal(xhtmlUnescape(escaped), raw);
    assert.equal(xhtmlUnescape(Buffer.from(escaped)), raw);
  }
  assert.equal(xhtmlEscape('plain'), 'plain');
});

test('xhtmlUnescape: numeric references, and malformed ones left alone', () => {
  const cases: Array<[string, string]> = [
    ['foo&#32;bar', 'foo bar'],
    ['foo&#x20;bar', 'foo bar'],
    ['foo&#X20;bar', 'foo bar'],
    ['foo&#xabc;bar', 'foo\u0abcbar'],
    ['foo&#xyz;bar', 'foo&#xyz;bar'],
    ['foo&#;bar', 'foo&#;bar'],
    ['foo&#x;bar', 'foo&#x;bar'],
    ['&#1114112;', '&#1114112;'],
    ['&#128512;', '\u{1f600}'],
  ];
  for (const [escaped, raw] of cases) assert.equal(xhtmlUnescape(escaped), raw, escaped);
});

test('xhtmlUnescape knows the HTML 4 named entities and leaves unknown ones', () => {
  assert.equal(
    xhtmlUnescape('&eacute;&nbsp;&hellip;&Omega;&zwnj;&euro;&lt;&gt;&quot;&amp;'),
    'é\u00a0…Ω\u200c€<>"&',
  );
  assert.equal(xhtmlUnescape('&nope; &apos; &amp'), '&nope; &apos; &amp');
});

test('urlEscape: UTF-8 for text, bytes as they are, quote_plus and quote', () => {
  assert.equal(urlEscape(Buffer.from('\u00e9', 'utf8')), '%C3%A9');
  assert.equal(urlEscape(Buffer.from('\u00e9', 'latin1')), '%E9');
  assert.equal(urlEscape('\u00e9'), '%C3%A9');
  assert.equal(urlEscape('+ #%'), '%2B+%23%25');
  assert.equal(urlEscape('+ #%', false), '%2B%20%23%25');
  // Only letters, digits and _.-~ stay (and / without plus).
  assert.equal(urlEscape("a_b.c-d~e*'()!/"), 'a_b.c-d~e%2A%27%28%29%21%2F');
  assert.equal(urlEscape("a_b.c-d~e*'()!/", false), 'a_b.c-d~e%2A%27%28%29%21/');
  assert.equal(urlEscape(Buffer.from(" */'")), '+%2A%2F%27');
  assert.equal(urlEscape(Buffer.from(' /'), false), '%20/');
});

test('urlUnescape: encodings, plus handling, bytes out', () => {
  const cases: Array<[string, string | Buffer, BufferEncoding | null]> = [
    ['%C3%A9', '\u00e9', 'utf8'],
    ['%C3%A9', '\u00c3\u00a9', 'latin1'],
    ['%C3%A9', Buffer.from('\u00e9'), null],
  ];
  for (const [escaped, raw, encoding] of cases) {
    assert.deepEqual(urlUnescape(escaped, { encoding }), raw);
    assert.deepEqual(urlUnescape(Buffer.from(escaped), { encoding }), raw);
  }
  assert.equal(urlUnescape('%2B+%23%25'), '+ #%');
  assert.equal(urlUnescape('%2B%20%23%25', { plus: false }), '+ #%');
  assert.deepEqual(urlUnescape('%2B+%23%25', { encoding: null }), Buffer.from('+ #%'));
  assert.deepEqual(
    urlUnescape('%2B%20%23%25', { encoding: null, plus: false }),
    Buffer.from('+ #%'),
  );
  assert.equal(urlUnescape('a+b', { plus: false }), 'a+b');
  // A % without two hex digits stays; invalid UTF-8 becomes U+FFFD.
  assert.equal(urlUnescape('100%25 %zz %4'), '100% %zz %4');
  assert.equal(urlUnescape('%FF'), '\ufffd');
  assert.deepEqual(urlUnescape('%zz%41', { encoding: null }), Buffer.from('%zzA'));
  assert.throws(() => urlUnescape('x', { encoding: 'klingon' as BufferEncoding }), TypeError);
});

test('jsonEncode: </ is written <\\/ so </script> cannot end a script', () => {
  assert.equal(jsonDecode(jsonEncode('\u00e9')), '\u00e9');
  const hostile = '</script><script>alert(1)</script>';
  const encoded = jsonEncode({ hostile });
  assert.doesNotMatch(encoded, /<\//);
  assert.equal(encoded, '{"hostile":"<\\/script><script>alert(1)<\\/script>"}');
  assert.deepEqual(jsonDecode(encoded), { hostile });
  assert.equal(jsonEncode(undefined), 'null');
});

test('jsonDecode reads text and UTF-8 bytes', () => {
  assert.equal(jsonDecode(Buffer.from('"foo"')), 'foo');
  assert.equal(jsonDecode('"foo"'), 'foo');
  assert.equal(jsonDecode(utf8('"\u00e9"')), '\u00e9');
  assert.throws(() => jsonDecode('{'), SyntaxError);
});

test('squeeze collapses runs of \\x00-\\x20 and trims', () => {
  assert.equal(squeeze('sequences     of    whitespace   chars'), 'sequences of whitespace chars');
  assert.equal(squeeze(' \t\r\n a \x00\x01 b\n\n'), 'a b');
  assert.equal(squeeze(Buffer.from('  x  ')), 'x');
  assert.equal(squeeze('\u00a0x\u00a0'), '\u00a0x\u00a0');
  assert.equal(squeeze('   '), '');
});

test('utf8 and toUnicode: null stays null, other non-text values are a TypeError', () => {
  assert.equal(utf8(null), null);
  assert.equal(toUnicode(null), null);
  assert.deepEqual(utf8('é'), Buffer.from([0xc3, 0xa9]));
  const bytes = Buffer.from('x');
  assert.equal(utf8(bytes), bytes);
  assert.deepEqual(utf8(new Uint8Array([0x61])), Buffer.from('a'));
  assert.equal(toUnicode(Buffer.from([0xc3, 0xa9])), 'é');
  assert.equal(toUnicode('é'), 'é');
  for (const bad of [1, {}, undefined, true]) {
    assert.throws(() => utf8(bad as never), /Expected bytes, unicode, or None/);
    assert.throws(() => toUnicode(bad as never), TypeError);
  }
  assert.throws(() => toUnicode(Buffer.from([0xff])), TypeError);
  assert.throws(() => xhtmlEscape(5 as never), TypeError);
});

test('recursiveUnicode walks arrays and plain objects', () => {
  assert.deepEqual(recursiveUnicode({ foo: Buffer.from('bar') }), { foo: 'bar' });
  assert.deepEqual(recursiveUnicode([Buffer.from('foo'), Buffer.from('bar')]), ['foo', 'bar']);
  assert.equal(recursiveUnicode(Buffer.from('foo')), 'foo');
  assert.deepEqual(recursiveUnicode({ a: [{ b: Buffer.from('c') }], n: 1, s: null }), {
    a: [{ b: 'c' }],
    n: 1,
    s: null,
  });
  const date = new Date(0);
  assert.equal(recursiveUnicode(date), date);
});

test("agrees with Python Tornado's escape module on generated inputs", async (t) => {
  let python: string | null = null;
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(candidate, ['-c', 'import tornado.escape'], { stdio: 'ignore' });
      python = candidate;
      break;
    } catch {
      // try the next one
    }
  }
  if (python === null) {
    t.skip('no python3 with tornado (python3-tornado) installed');
    return;
  }
  const fc = await import('fast-check');
  const piece = fc.constantFrom(
    'http://',
    'https://',
    'www.',
    'ftp://',
    'a',
    'Z',
    '9',
    '_',
    '-',
    '.',
    ',',
    '!',
    '?',
    '/',
    '(',
    ')',
    '&',
    '&amp;',
    '<',
    '>',
    '"',
    "'",
    ' ',
    '\n',
    '\u00e9',
    '\u4a39',
    '%41',
    '+',
    ':',
    ';',
    '#',
    'x.com',
    '&#39;',
    '&eacute;',
    '&#x41;',
    '\t',
    '\u00a0',
    '\x1c',
  );
  const inputs = fc.sample(
    fc.array(piece, { maxLength: 14 }).map((p) => p.join('')),
    {
      numRuns: 300,
      seed: 15,
    },
  );
  const script = `
import json, sys
from tornado import escape
out = []
for s in json.load(sys.stdin):
    out.append([escape.linkify(s), escape.linkify(s, shorten=True, require_protocol=True),
                escape.xhtml_unescape(s), escape.url_escape(s), escape.url_escape(s, plus=False),
                escape.url_unescape(s), escape.squeeze(s)])
json.dump(out, sys.stdout)`;
  const expected = JSON.parse(
    execFileSync(python, ['-c', script], { input: JSON.stringify(inputs) }).toString(),
  ) as string[][];
  inputs.forEach((s, i) => {
    const mine = [
      linkify(s),
      linkify(s, { shorten: true, requireProtocol: true }),
      xhtmlUnescape(s),
      urlEscape(s),
      urlEscape(s, false),
      urlUnescape(s),
      escape.squeeze(s),
    ];
    const theirs = [...expected[i]!];
    // Python's strip() also trims U+00A0; DESIGN.md's squeeze trims \x00-\x20 only.
    if (s.includes('\u00a0')) (theirs.pop(), mine.pop());
    assert.deepEqual(mine, theirs, JSON.stringify(s));
  });
});
