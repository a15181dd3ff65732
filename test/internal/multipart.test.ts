import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  MultipartParser,
  MultipartError,
  collectMultipart,
  parseHeaderParams,
  parseMultipartBoundary,
  type MultipartEvent,
} from '../../src/internal/multipart.ts';
import { growthRatio } from '../helpers/complexity.ts';

const B = 'XyZboundary';

function body(...parts: string[]): Buffer {
  return Buffer.from(parts.map((p) => `--${B}\r\n${p}\r\n`).join('') + `--${B}--\r\n`, 'latin1');
}

function field(name: string, value: string): string {
  return `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
}

// Replays events into a simple list of parts, whatever the chunking was.
function summarize(
  events: MultipartEvent[],
): { name: string; filename: string | null; body: string }[] {
  const out: { name: string; filename: string | null; body: string }[] = [];
  let pieces: Buffer[] = [];
  for (const e of events) {
    if (e.type === 'part') {
      out.push({ name: e.part.name, filename: e.part.filename, body: '' });
      pieces = [];
    } else if (e.type === 'data') pieces.push(e.data);
    else if (e.type === 'partEnd')
      (out.at(-1) as { body: string }).body = Buffer.concat(pieces).toString('latin1');
  }
  return out;
}

function feedAll(data: Buffer, chunkSize: number, boundary = B, limits = {}): MultipartEvent[] {
  const parser = new MultipartParser(boundary, limits);
  const events: MultipartEvent[] = [];
  for (let i = 0; i < data.length; i += chunkSize)
    events.push(...parser.feed(data.subarray(i, i + chunkSize)));
  parser.end();
  return events;
}

// Feeds without keeping the events, for timing (holding millions of events times the GC).
function countEvents(data: Buffer, chunkSize: number, limits = {}): number {
  const parser = new MultipartParser(B, limits);
  let count = 0;
  for (let i = 0; i < data.length; i += chunkSize)
    count += parser.feed(data.subarray(i, i + chunkSize)).length;
  parser.end();
  return count;
}

function throwsMultipart(fn: () => unknown, status: number, pattern: RegExp): MultipartError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof MultipartError, `expected a MultipartError, got ${String(caught)}`);
  assert.equal(caught.status, status);
  assert.match(caught.message, pattern);
  return caught;
}

describe('MultipartParser', () => {
  test('parses fields and files, with events in body order', () => {
    const data = body(
      field('a', 'one'),
      'Content-Disposition: form-data; name="f"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\nfile\r\nbytes',
      field('a', ''),
    );
    const events = feedAll(data, data.length);
    assert.deepEqual(
      events.map((e) => e.type),
      ['part', 'data', 'partEnd', 'part', 'data', 'partEnd', 'part', 'partEnd', 'end'],
    );
    const file = events[3];
    assert.ok(file && file.type === 'part');
    assert.equal(file.part.contentType, 'text/plain');
    assert.equal(file.part.headers['content-type'], 'text/plain');
    assert.equal(Object.getPrototypeOf(file.part.headers), null);
    assert.deepEqual(summarize(events), [
      { name: 'a', filename: null, body: 'one' },
      { name: 'f', filename: 'x.txt', body: 'file\r\nbytes' },
      { name: 'a', filename: null, body: '' },
    ]);
  });

  test('every chunking gives the same parts (1-byte feeds and every two-way split)', () => {
    const data = body(
      field('k', `almost --${B} a delimiter \r\n--${B.slice(0, 5)} and \r\r\n\r\n`),
      'Content-Disposition: form-data; name="bin"; filename="b"\r\n\r\n\r\n\r\n--\r\n',
    );
    const expected = summarize(feedAll(data, data.length));
    assert.equal(
      expected[0]?.body,
      `almost --${B} a delimiter \r\n--${B.slice(0, 5)} and \r\r\n\r\n`,
    );
    assert.equal(expected[1]?.body, '\r\n\r\n--\r\n');
    assert.deepEqual(summarize(feedAll(data, 1)), expected);
    for (let split = 1; split < data.length; split++) {
      const parser = new MultipartParser(B);
      const events = [
        ...parser.feed(data.subarray(0, split)),
        ...parser.feed(data.subarray(split)),
      ];
      parser.end();
      assert.deepEqual(summarize(events), expected, `split at ${split}`);
    }
  });

  test('reads bodies made by a real encoder (undici FormData)', async () => {
    const form = new FormData();
    form.append('title', 'h\u00e9llo "quoted"\r\nline');
    form.append('upload', new Blob([Buffer.from([0, 1, 2, 13, 10, 45, 45])]), 'na\u00efve "x".bin');
    const response = new Response(form);
    const boundary = parseMultipartBoundary(response.headers.get('content-type'));
    assert.ok(boundary);
    const data = Buffer.from(await response.arrayBuffer());
    const { arguments: args, files } = collectMultipart(boundary, data);
    assert.equal(args.title?.[0]?.toString('utf8'), 'h\u00e9llo "quoted"\r\nline');
    const upload = files.upload?.[0];
    assert.ok(upload);
    assert.deepEqual(upload.body, Buffer.from([0, 1, 2, 13, 10, 45, 45]));
    assert.equal(upload.contentType, 'application/octet-stream');
    assert.match(upload.filename, /^na\u00efve /);
  });

  test('a preamble and an epilogue are ignored; a body may start without CRLF', () => {
    const data = Buffer.from(
      `preamble text\r\n--${B}\r\n${field('a', '1')}\r\n--${B}--\r\nepilogue --${B}\r\n`,
    );
    assert.deepEqual(summarize(feedAll(data, 3)), [{ name: 'a', filename: null, body: '1' }]);
    const empty = feedAll(Buffer.from(`--${B}--`), 100);
    assert.deepEqual(empty, [{ type: 'end' }]);
  });

  test('streams a large part without holding it: data arrives as it is fed', () => {
    const parser = new MultipartParser(B);
    const head = Buffer.from(
      `--${B}\r\nContent-Disposition: form-data; name="big"; filename="big.bin"\r\n\r\n`,
    );
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let received = 0;
    let largest = 0;
    const first = parser.feed(head);
    assert.equal(first.length, 1);
    for (let i = 0; i < 256; i++) {
      const events = parser.feed(chunk);
      for (const e of events) {
        if (e.type === 'data') {
          received += e.data.length;
          largest = Math.max(largest, e.data.length);
        }
      }
      // Everything but a held-back tail (at most the delimiter length) is handed on at once.
      assert.ok(received >= (i + 1) * chunk.length - (B.length + 4), `after chunk ${i}`);
    }
    const tail = parser.feed(Buffer.from(`\r\n--${B}--\r\n`));
    assert.deepEqual(
      tail.map((e) => e.type),
      ['partEnd', 'end'],
    );
    parser.end();
    assert.equal(received, 256 * chunk.length);
    assert.ok(largest <= chunk.length);
  });

  test('data events are slices of the fed chunk, not copies', () => {
    const parser = new MultipartParser(B);
    parser.feed(Buffer.from(`--${B}\r\n${field('a', '')}`));
    const chunk = Buffer.from('0123456789');
    const [event] = parser.feed(chunk);
    assert.ok(event && event.type === 'data');
    assert.equal(event.data.buffer, chunk.buffer);
  });

  test('no closing boundary: end() throws 400', () => {
    const parser = new MultipartParser(B);
    parser.feed(Buffer.from(`--${B}\r\n${field('a', 'x')}`));
    throwsMultipart(() => parser.end(), 400, /no final boundary/);
    throwsMultipart(() => feedAll(Buffer.from('no boundary at all'), 4), 400, /no final boundary/);
    throwsMultipart(() => feedAll(Buffer.from(''), 4), 400, /no final boundary/);
  });

  test('more parts than maxParts: refused at the first one over, once', () => {
    const many = Buffer.from(`--${B}\r\n${field('a', '')}\r\n`.repeat(10_000) + `--${B}--\r\n`);
    const parser = new MultipartParser(B);
    let parts = 0;
    const err = throwsMultipart(
      () => {
        for (let i = 0; i < many.length; i += 4096) {
          for (const e of parser.feed(many.subarray(i, i + 4096))) if (e.type === 'part') parts++;
        }
      },
      400,
      /too many multipart parts \(more than 1000\)/,
    );
    // The events of the chunk that crossed the limit are not returned (the error is).
    assert.ok(parts > 900 && parts <= 1000, `${parts} parts`);
    // The parser stays failed and answers with the same error; nothing else is parsed.
    assert.throws(
      () => parser.feed(Buffer.from('more')),
      (e) => e === err,
    );
    assert.throws(
      () => parser.end(),
      (e) => e === err,
    );
    const roomy = feedAll(many, 65_536, B, { maxParts: 10_000 });
    assert.equal(roomy.filter((e) => e.type === 'part').length, 10_000);
  });

  test('10 000 empty parts (no headers, no CRLF) are refused quickly', () => {
    const empties = Buffer.from(`--${B}\r\n`.repeat(10_000) + `--${B}--\r\n`);
    throwsMultipart(() => feedAll(empties, 65_536), 400, /headers larger than|Content-Disposition/);
    const fewer = Buffer.from(`--${B}\r\n`.repeat(3) + `--${B}--\r\n`);
    throwsMultipart(() => feedAll(fewer, 65_536), 400, /no final boundary/);
  });

  test('a part with no headers at all is refused (no name)', () => {
    throwsMultipart(() => feedAll(body('\r\nvalue'), 100), 400, /Content-Disposition/);
  });

  test('header block over maxHeaderBytes → 400, also when fed a byte at a time', () => {
    const big = body(`X-Pad: ${'p'.repeat(20_000)}\r\n${field('a', 'v')}`);
    throwsMultipart(() => feedAll(big, 1000), 400, /headers larger than 16384/);
    throwsMultipart(() => feedAll(big, 1), 400, /headers larger than 16384/);
    const fits = body(`X-Pad: ${'p'.repeat(100)}\r\n${field('a', 'v')}`);
    throwsMultipart(() => feedAll(fits, 7, B, { maxHeaderBytes: 100 }), 400, /larger than 100/);
    assert.equal(summarize(feedAll(fits, 7, B, { maxHeaderBytes: 200 })).length, 1);
  });

  test('a Content-Disposition of 100 000 ";" is refused (too many parameters)', () => {
    const hostile = body(`Content-Disposition: form-data; name="a"${';'.repeat(100_000)}\r\n\r\nv`);
    throwsMultipart(
      () => feedAll(hostile, 65_536, B, { maxHeaderBytes: 200_000 }),
      400,
      /too many Content-Disposition parameters/,
    );
    const ok = body(`Content-Disposition: form-data; name="a"${';'.repeat(10)}\r\n\r\nv`);
    assert.equal(summarize(feedAll(ok, 100)).length, 1);
  });

  test('a part over maxPartBytes → 413', () => {
    const data = body(field('a', 'x'.repeat(1000)));
    throwsMultipart(() => feedAll(data, 64, B, { maxPartBytes: 999 }), 413, /larger than 999/);
    assert.equal(summarize(feedAll(data, 64, B, { maxPartBytes: 1000 }))[0]?.body.length, 1000);
  });

  test('malformed parts are refused with 400', () => {
    const cases: [Buffer, RegExp][] = [
      [body('Content-Disposition: form-data\r\n\r\nv'), /missing name/],
      [body('Content-Disposition: form-data; name=""\r\n\r\nv'), /missing name/],
      [body('Content-Disposition: attachment; name="a"\r\n\r\nv'), /not form-data/],
      [
        body(
          `${field('a', '1').replace('\r\n\r\n', '\r\nContent-Disposition: form-data; name=b\r\n\r\n')}`,
        ),
        /exactly one/,
      ],
      [body('Bad Header Line\r\n\r\nv'), /header line/],
      [body(': empty name\r\n\r\nv'), /header line/],
      [
        Buffer.concat([
          Buffer.from(
            `--${B}\r\nContent-Disposition: form-data; name="\xff"\r\n\r\nv\r\n--${B}--`,
            'latin1',
          ),
        ]),
        /UTF-8/,
      ],
      [Buffer.from(`--${B}\r\n${field('a', '1')}\r\n--${B}junk\r\n--${B}--`), /bad boundary line/],
    ];
    for (const [data, pattern] of cases) throwsMultipart(() => feedAll(data, 5), 400, pattern);
  });

  test('an invalid boundary is refused at construction', () => {
    for (const bad of [
      '',
      'x'.repeat(71),
      'ends with space ',
      'semi;colon',
      'quote"',
      'new\r\nline',
    ]) {
      throwsMultipart(() => new MultipartParser(bad), 400, /invalid multipart boundary/);
    }
    assert.ok(new MultipartParser('x'.repeat(70)));
    assert.ok(new MultipartParser("a b'()+_,-./:=?"));
  });

  test('linear time: many parts, partial delimiters, byte-at-a-time feeding', () => {
    const parts = growthRatio(
      (n) => Buffer.from(`--${B}\r\n${field('a', 'v')}\r\n`.repeat(n) + `--${B}--`),
      (data) => countEvents(data, 65_536, { maxParts: Infinity }),
      { startN: 1000 },
    );
    assert.ok(parts.ratio < 20, `parts: growth ratio ${parts.ratio}`);
    // One part whose body is all near-delimiters: the body is kept, so at millions of repeats
    // the timing measures page faults on a 200 MB buffer, not the scan. Cache-sized inputs,
    // parsed many times per timing, keep it about the algorithm.
    const partial = growthRatio(
      (n) =>
        Buffer.from(`--${B}\r\n${field('a', `\r\n--${B.slice(0, -1)}`.repeat(n))}\r\n--${B}--`),
      (data) => {
        for (let i = 0; i < 100; i++) countEvents(data, 65_536);
      },
      { startN: 1000, maxN: 40_000 },
    );
    assert.ok(partial.ratio < 20, `partial delimiters: growth ratio ${partial.ratio}`);
    const bytewise = growthRatio(
      (n) =>
        Buffer.from(`--${B}\r\n${field('a', `\r\n--${B.slice(0, -1)}`.repeat(n))}\r\n--${B}--`),
      (data) => countEvents(data, 1),
      { startN: 100 },
    );
    assert.ok(bytewise.ratio < 20, `byte-at-a-time: growth ratio ${bytewise.ratio}`);
    // A body that never reaches a boundary, made of delimiter look-alikes. The scan is fast, so
    // each timing repeats it on cache-sized inputs (multi-megabyte inputs measure the memory
    // bus, not the algorithm).
    for (const pattern of ['\r\n-', `\r\n--${B.slice(0, -2)}`]) {
      const noBoundary = growthRatio(
        (n) => Buffer.from(pattern.repeat(n)),
        (data) => {
          for (let i = 0; i < 100; i++) new MultipartParser(B).feed(data);
        },
        { startN: 5_000, maxN: 20_000 },
      );
      assert.ok(noBoundary.ratio < 20, `no closing boundary: growth ratio ${noBoundary.ratio}`);
    }
  });
});

describe('parseHeaderParams', () => {
  test('plain, quoted and escaped values; names lower-cased', () => {
    const r = parseHeaderParams(
      'Form-Data; NAME="a\\"b\\\\c"; filename=plain.txt ; x="semi;colon"',
    );
    assert.ok(r);
    assert.equal(r.value, 'form-data');
    assert.deepEqual({ ...r.params }, { name: 'a"b\\c', filename: 'plain.txt', x: 'semi;colon' });
    assert.equal(Object.getPrototypeOf(r.params), null);
  });

  test("Tornado's documented example", () => {
    const r = parseHeaderParams('form-data; foo="b\\\\a\\"r"; file*=utf-8\'\'T%C3%A4st');
    assert.deepEqual({ ...r?.params }, { foo: 'b\\a"r', file: 'T\u00e4st' });
  });

  test('filename* wins over filename in either order; bad ext values are ignored', () => {
    const a = parseHeaderParams('form-data; filename*=UTF-8\'\'%E2%82%AC.txt; filename="e.txt"');
    const b = parseHeaderParams('form-data; filename="e.txt"; filename*=UTF-8\'\'%E2%82%AC.txt');
    assert.equal(a?.params.filename, '\u20ac.txt');
    assert.equal(b?.params.filename, '\u20ac.txt');
    const latin = parseHeaderParams("form-data; filename*=iso-8859-1'en'%E9.txt");
    assert.equal(latin?.params.filename, '\u00e9.txt');
    for (const bad of ["x*=UTF-8''%FF", "x*=koi8-r''abc", 'x*=noquotes', "x*=UTF-8''a b"]) {
      assert.equal(parseHeaderParams(`form-data; ${bad}`)?.params.x, undefined, bad);
    }
  });

  test('segments without = are ignored; __proto__ is an ordinary parameter', () => {
    const r = parseHeaderParams('form-data; flag; ; __proto__=x; name=n');
    assert.deepEqual(Object.keys(r?.params ?? {}), ['__proto__', 'name']);
  });

  test('an unclosed quote takes the rest of the value', () => {
    assert.equal(parseHeaderParams('form-data; name="abc; def')?.params.name, 'abc; def');
  });

  test('more than maxParams segments → null', () => {
    assert.equal(parseHeaderParams('a' + ';'.repeat(33)), null);
    assert.ok(parseHeaderParams('a' + ';'.repeat(32)));
    assert.equal(parseHeaderParams('a; x=1; y=2', 1), null);
  });

  test('linear on hostile values', () => {
    for (const make of [
      (n: number) => 'form-data' + ';'.repeat(n),
      (n: number) => 'form-data; name="' + '\\"'.repeat(n),
      (n: number) => 'form-data; name=' + '='.repeat(n),
      (n: number) => 'form-data; ' + 'a'.repeat(n),
      (n: number) => "form-data; x*=UTF-8''" + '%41'.repeat(n),
    ]) {
      const { ratio } = growthRatio(make, (h) => parseHeaderParams(h, Infinity), {
        startN: 10_000,
      });
      assert.ok(ratio < 20, `growth ratio ${ratio} for ${make(3)}`);
    }
  });
});

describe('parseMultipartBoundary', () => {
  test('plain and quoted boundaries', () => {
    assert.equal(parseMultipartBoundary(`multipart/form-data; boundary=${B}`), B);
    assert.equal(
      parseMultipartBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b:c"'),
      'a b:c',
    );
  });

  test('other types, missing or invalid boundaries → null', () => {
    for (const bad of [
      undefined,
      '',
      'text/plain; boundary=abc',
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=""',
      `multipart/form-data; boundary=${'x'.repeat(71)}`,
      'multipart/form-data; boundary="trailing "',
      'multipart/form-data; boundary="bad\\"quote"',
      'multipart/mixed; boundary=abc',
    ]) {
      assert.equal(parseMultipartBoundary(bad), null, String(bad));
    }
    assert.equal(
      parseMultipartBoundary(`multipart/form-data; boundary=${'x'.repeat(70)}`),
      'x'.repeat(70),
    );
  });
});

describe('collectMultipart', () => {
  test('fields and files as Tornado sorts them; empty filename is an argument', () => {
    const data = body(
      field('a', '1'),
      field('a', '2'),
      'Content-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\nXYZ',
      'Content-Disposition: form-data; name="g"; filename=""\r\n\r\n',
      'Content-Disposition: form-data; name="h"; filename="y.txt"\r\nContent-Type: text/plain\r\n\r\nhi',
    );
    const { arguments: args, files } = collectMultipart(B, [
      data.subarray(0, 50),
      data.subarray(50),
    ]);
    assert.deepEqual(args.a?.map(String), ['1', '2']);
    assert.deepEqual(args.g?.map(String), ['']);
    assert.deepEqual(files.f, [
      { filename: 'x.bin', body: Buffer.from('XYZ'), contentType: 'application/unknown' },
    ]);
    assert.deepEqual(files.h?.[0]?.contentType, 'text/plain');
    assert.equal(Object.getPrototypeOf(args), null);
    assert.equal(Object.getPrototypeOf(files), null);
  });

  test('makeFile builds the caller’s file objects', () => {
    class Upload {
      readonly name: string;
      readonly size: number;
      constructor(name: string, size: number) {
        this.name = name;
        this.size = size;
      }
    }
    const data = body('Content-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\nXYZ');
    const { files } = collectMultipart(B, data, {
      makeFile: (f) => new Upload(f.filename, f.body.length),
    });
    assert.ok(files.f?.[0] instanceof Upload);
    assert.equal(files.f[0].size, 3);
  });

  test('limits apply', () => {
    throwsMultipart(
      () => collectMultipart(B, body(field('a', '1'), field('b', '2')), { maxParts: 1 }),
      400,
      /too many/,
    );
    throwsMultipart(
      () => collectMultipart(B, body(field('a', '12345')), { maxPartBytes: 4 }),
      413,
      /larger/,
    );
  });
});
