// Property tests (fast-check) for the parsers that read what a client sends: the signed-value
// decoder, the multipart parser, header parameters, cookies and ranges; and the template parser.
// Each must never crash, fail only with its own typed error, and (for the streaming multipart
// parser) give the same result however the body is chunked. A failure prints fast-check's seed
// and path; run again with FUZZ_SEED=<seed> to replay it. FUZZ_RUNS scales the number of runs.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HTTPInputError, TemplateNotFoundError, TyphoonError } from '../../src/errors.ts';
import { parseBodyArguments, parseCookie, parseHeaderValue } from '../../src/httputil/index.ts';
import {
  parseCookieHeader,
  quoteCookieValue,
  unquoteCookieValue,
  formatSetCookie,
} from '../../src/internal/cookie.ts';
import {
  MultipartError,
  MultipartParser,
  collectMultipart,
  parseHeaderParams,
  parseMultipartBoundary,
  type MultipartEvent,
} from '../../src/internal/multipart.ts';
import { formatContentRange, parseRangeHeader, resolveRange } from '../../src/web/http-range.ts';
import { DictLoader, ParseError, Template } from '../../src/template/index.ts';
import {
  createSignedValue,
  decodeSignedValue,
  decodeSignedValueBytes,
  getSignatureKeyVersion,
} from '../../src/web/signed-value.ts';

const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);

/** fast-check's settings for one property: bounded runs, a replayable seed. */
function params(numRuns: number): fc.Parameters<unknown> {
  return {
    numRuns: Math.max(1, Math.round(numRuns * SCALE)),
    ...(SEED === undefined ? {} : { seed: SEED }),
  };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
process.on('unhandledRejection', onUnhandled);
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});

/** Any text a client could put in a header: latin1 bytes, as node hands them over. */
const latin1 = fc.string({
  unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)),
  maxLength: 200,
});
/** Full Unicode text. */
const unicode = fc.string({ unit: 'binary', maxLength: 100 });

/** Split `buffer` at the given offsets (modulo its length), as a socket might deliver it. */
function chunked(buffer: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((n) => n % Math.max(1, buffer.length)))].sort(
    (a, b) => a - b,
  );
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from && p < buffer.length) {
      chunks.push(buffer.subarray(from, p));
      from = p;
    }
  }
  chunks.push(buffer.subarray(from));
  return chunks;
}

describe('fuzz: signed values', () => {
  const SECRET = 'fuzz-secret';
  const NOW = 1_800_000_000_000;
  const clock = () => NOW;

  test('decoding arbitrary input never throws and yields null or a string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          latin1,
          unicode,
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
        ),
        (value) => {
          const text = decodeSignedValue(SECRET, 'name', value, { clock });
          assert.ok(text === null || typeof text === 'string');
          const bytes = decodeSignedValueBytes({ 0: 'a', 1: 'b' }, 'name', value, {
            clock,
            minVersion: 2,
          });
          assert.ok(bytes === null || Buffer.isBuffer(bytes));
          const kv = getSignatureKeyVersion(value);
          assert.ok(kv === null || Number.isInteger(kv));
        },
      ),
      params(2000),
    );
  });

  test('arbitrary fields in the v2 layout never verify without the key', () => {
    const field = fc.oneof(latin1, fc.nat({ max: 2 ** 40 }).map(String));
    fc.assert(
      fc.property(
        fc.array(field, { minLength: 4, maxLength: 7 }),
        fc.boolean(),
        (fields, lengths) => {
          const body = fields.map((f) => (lengths ? `${f.length}:${f}` : f)).join('|');
          assert.equal(decodeSignedValue(SECRET, 'name', `2|${body}`, { clock }), null);
        },
      ),
      params(1000),
    );
  });

  test('create → decode is the identity; any one-character change never decodes to another value', () => {
    fc.assert(
      fc.property(
        unicode,
        fc.constantFrom<1 | 2>(1, 2),
        fc.nat(),
        fc.integer({ min: 0x20, max: 0x7e }),
        (value, version, where, replacement) => {
          const signed = createSignedValue(SECRET, 'uid', value, { version, clock });
          assert.equal(
            decodeSignedValue(SECRET, 'uid', signed, { clock }),
            value.isWellFormed() ? value : Buffer.from(value).toString('utf8'),
          );
          assert.equal(
            decodeSignedValue(SECRET, 'other', signed, { clock }),
            null,
            'bound to its name',
          );
          assert.equal(
            decodeSignedValue('wrong', 'uid', signed, { clock }),
            null,
            'bound to its key',
          );
          const i = where % signed.length;
          const tampered =
            signed.slice(0, i) + String.fromCharCode(replacement) + signed.slice(i + 1);
          const decoded = decodeSignedValueBytes(SECRET, 'uid', tampered, { clock });
          if (decoded !== null) {
            assert.deepEqual(
              decoded,
              Buffer.from(value),
              `${JSON.stringify(tampered)} forged another value`,
            );
          }
        },
      ),
      params(1000),
    );
  });
});

describe('fuzz: multipart', () => {
  const BOUNDARY = 'fuzzB0undary';
  // Pieces that make bodies close to valid, so the parser's deeper states are reached.
  const piece = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(`--${BOUNDARY}`, `--${BOUNDARY}--`, '\r\n', '\r\n\r\n'),
    },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        'Content-Disposition: form-data; name="a"',
        'Content-Disposition: form-data; name="f"; filename="x.txt"',
        "Content-Disposition: form-data; name*=UTF-8''n%C3%A4me; filename*=UTF-8''%E2%82%AC.txt",
        'Content-Disposition: attachment; name="no"',
        'Content-Disposition: form-data',
        'Content-Type: text/plain',
        'X-Other: 1',
      ),
    },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '\r',
        '\n',
        '-',
        '--',
        BOUNDARY,
        `\r\n--${BOUNDARY.slice(0, 5)}`,
        ';',
        '"',
        '\0',
      ),
    },
    {
      weight: 3,
      arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
    },
  );
  const body = fc
    .array(piece, { maxLength: 40 })
    .map((pieces) => Buffer.from(pieces.join(''), 'latin1'));
  const cuts = fc.array(fc.nat(), { maxLength: 12 });

  /** Run the streaming parser over `chunks`; events normalised (data merged per part). */
  function run(chunks: Buffer[], limits = {}): { events: unknown[]; error: string | null } {
    const events: unknown[] = [];
    let data: Buffer[] = [];
    const flush = () => {
      if (data.length > 0) events.push(['data', Buffer.concat(data).toString('latin1')]);
      data = [];
    };
    const take = (list: MultipartEvent[]) => {
      for (const event of list) {
        if (event.type === 'data') data.push(Buffer.from(event.data));
        else {
          flush();
          events.push(
            event.type === 'part'
              ? ['part', JSON.stringify({ ...event.part, headers: { ...event.part.headers } })]
              : [event.type],
          );
        }
      }
    };
    const parser = new MultipartParser(BOUNDARY, limits);
    try {
      for (const chunk of chunks) take(parser.feed(chunk));
      parser.end();
      flush();
      return { events, error: null };
    } catch (error) {
      assert.ok(error instanceof MultipartError, `untyped error: ${String(error)}`);
      assert.ok(error.status === 400 || error.status === 413);
      return { events: [], error: `${error.status} ${error.message}` };
    }
  }

  test('any body: only MultipartError, and the same result however it is chunked', () => {
    fc.assert(
      fc.property(
        body,
        cuts,
        fc.constantFrom({}, { maxParts: 2, maxHeaderBytes: 64, maxPartBytes: 16 }),
        (bytes, at, limits) => {
          const whole = run([bytes], limits);
          const pieces = run(chunked(bytes, at), limits);
          assert.deepEqual(pieces, whole);
          const bytewise = run(
            [...bytes].map((b) => Buffer.from([b])),
            limits,
          );
          assert.deepEqual(bytewise, whole);
        },
      ),
      params(1500),
    );
  });

  test('collectMultipart and parseBodyArguments agree with the stream and throw only typed errors', () => {
    fc.assert(
      fc.property(body, (bytes) => {
        let collected: string | null = null;
        try {
          const result = collectMultipart(BOUNDARY, bytes);
          collected = JSON.stringify([Object.keys(result.arguments), Object.keys(result.files)]);
          assert.equal(Object.getPrototypeOf(result.arguments), null);
        } catch (error) {
          assert.ok(error instanceof MultipartError, String(error));
        }
        const args = Object.create(null) as Record<string, Buffer[]>;
        const files = Object.create(null) as Record<string, never[]>;
        try {
          parseBodyArguments(`multipart/form-data; boundary=${BOUNDARY}`, bytes, args, files);
          assert.ok(collected !== null, 'the public parser accepted what the stream refused');
        } catch (error) {
          assert.ok(error instanceof HTTPInputError, `untyped error: ${String(error)}`);
          assert.equal(collected, null, 'the public parser refused what the stream accepted');
        }
      }),
      params(1000),
    );
  });

  test('a well-formed body round-trips its fields, however chunked', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
    const value = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 6 }),
        cuts,
        (fields, at) => {
          // A value that happens to contain the delimiter would end its part early: skip those.
          fc.pre(fields.every(([, v]) => !v.includes(`--${BOUNDARY}`)));
          const bytes = Buffer.concat([
            ...fields.flatMap(([n, v]) => [
              Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${n}"\r\n\r\n`),
              v,
              Buffer.from('\r\n'),
            ]),
            Buffer.from(`--${BOUNDARY}--\r\n`),
          ]);
          const result = collectMultipart(BOUNDARY, chunked(bytes, at));
          const expected = Object.create(null) as Record<string, Buffer[]>;
          for (const [n, v] of fields) (expected[n] ??= []).push(v);
          assert.deepEqual(result.arguments, expected);
        },
      ),
      params(500),
    );
  });
});

describe('fuzz: header parameters', () => {
  test('parseHeaderParams, parseHeaderValue and parseMultipartBoundary never throw; maps are prototype-free', () => {
    const header = fc.oneof(
      latin1,
      fc
        .array(
          fc.constantFrom(
            ';',
            '=',
            '"',
            '\\',
            ' ',
            'name',
            'filename*',
            "UTF-8''%E2%82%AC",
            '%',
            'boundary',
            'multipart/form-data',
            'x',
          ),
          { maxLength: 60 },
        )
        .map((p) => p.join('')),
    );
    fc.assert(
      fc.property(header, (value) => {
        const parsed = parseHeaderParams(value);
        if (parsed !== null) {
          assert.equal(Object.getPrototypeOf(parsed.params), null);
          assert.equal(typeof parsed.value, 'string');
          for (const v of Object.values(parsed.params)) assert.equal(typeof v, 'string');
        }
        const [main, map] = parseHeaderValue(value);
        assert.equal(typeof main, 'string');
        assert.equal(Object.getPrototypeOf(map), null);
        const boundary = parseMultipartBoundary(value);
        assert.ok(boundary === null || (boundary.length >= 1 && boundary.length <= 70));
      }),
      params(2000),
    );
  });

  test('quoted parameters round-trip', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    const value = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength: 30,
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n, maxLength: 8 }),
        (pairs) => {
          fc.pre(pairs.every(([n]) => !n.endsWith('*')));
          const header =
            'form-data' +
            pairs.map(([n, v]) => `; ${n}="${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join('');
          const expected = Object.fromEntries(pairs);
          const parsed = parseHeaderParams(header);
          assert.ok(parsed !== null);
          assert.equal(parsed.value, 'form-data');
          assert.deepEqual({ ...parsed.params }, expected);
          const [main, map] = parseHeaderValue(header);
          assert.equal(main, 'form-data');
          assert.deepEqual({ ...map }, expected);
        },
      ),
      params(1000),
    );
  });
});

describe('fuzz: cookies', () => {
  test('parsing any Cookie header never throws and builds a prototype-free map', () => {
    const header = fc.oneof(
      latin1,
      fc
        .array(
          fc.constantFrom(
            ';',
            '=',
            '"',
            '\\',
            '\\0',
            '\\12',
            '\\377',
            ' ',
            'a',
            'b',
            '__proto__',
            'constructor',
          ),
          { maxLength: 60 },
        )
        .map((p) => p.join('')),
    );
    fc.assert(
      fc.property(header, (value) => {
        const cookies = parseCookieHeader(value);
        assert.equal(Object.getPrototypeOf(cookies), null);
        for (const v of Object.values(cookies)) assert.equal(typeof v, 'string');
        assert.deepEqual(parseCookie(value), cookies);
        assert.equal(typeof unquoteCookieValue(value), 'string');
      }),
      params(2000),
    );
  });

  test('quote → parse round-trips any latin1 value that can be quoted', () => {
    const value = fc.string({
      unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)),
      maxLength: 40,
    });
    fc.assert(
      fc.property(value, (v) => {
        const quoted = quoteCookieValue(v);
        assert.equal(parseCookieHeader(`x=${quoted}; y=1`).x, v);
      }),
      params(1000),
    );
  });

  test('formatSetCookie never emits CR, LF or an extra attribute: it returns or throws TypeError', () => {
    fc.assert(
      fc.property(
        latin1,
        latin1,
        fc.option(latin1),
        fc.option(latin1),
        (name, value, domain, path) => {
          let header: string;
          try {
            header = formatSetCookie(name, value, { domain, path });
          } catch (error) {
            assert.ok(error instanceof TypeError, String(error));
            return;
          }
          assert.ok(!/[\r\n\0]/.test(header), JSON.stringify(header));
          assert.equal(parseCookieHeader(header.split(';')[0]!)[name], value);
        },
      ),
      params(2000),
    );
  });
});

describe('fuzz: ranges', () => {
  const rangeHeader = fc.oneof(
    latin1,
    fc
      .tuple(
        fc.constantFrom('bytes', 'Bytes', 'bytes ', 'items', ''),
        fc.constantFrom('=', ' =', ''),
        fc.option(
          fc.oneof(
            fc.nat(2000).map(String),
            fc.constantFrom('', ' ', '-1', '+1', '1e3', '99999999999999999999', '0x10'),
          ),
        ),
        fc.constantFrom('-', '', '--', ' - '),
        fc.option(
          fc.oneof(
            fc.nat(2000).map(String),
            fc.constantFrom('', ' ', '-1', '18446744073709551616'),
          ),
        ),
        fc.constantFrom('', ',', ', 5-6', ' '),
      )
      .map(
        ([unit, eq, first, dash, last, tail]) =>
          `${unit}${eq}${first ?? ''}${dash}${last ?? ''}${tail}`,
      ),
  );

  test('any Range header on any size: a consistent 200, 206 or 416, never a throw', () => {
    fc.assert(
      fc.property(rangeHeader, fc.nat(5000), (header, size) => {
        const parsed = parseRangeHeader(header);
        if (parsed !== null) {
          for (const n of [parsed.start, parsed.end])
            assert.ok(n === null || Number.isSafeInteger(n));
        }
        const r = resolveRange(header, size);
        if (r.status === 416) {
          assert.equal(r.contentRange, `bytes */${size}`);
          return;
        }
        assert.ok(0 <= r.start && r.start <= r.end && r.end <= size, JSON.stringify(r));
        assert.equal(r.contentLength, r.end - r.start);
        if (r.status === 200) assert.deepEqual([r.start, r.end], [0, size]);
        else {
          assert.ok(r.contentLength > 0 && r.contentLength < size);
          assert.equal(r.contentRange, formatContentRange(r.start, r.end, size));
        }
        if (parsed === null)
          assert.equal(r.status, 200, 'an ignored header means the whole resource');
      }),
      params(3000),
    );
  });

  test('well-formed single ranges select exactly the bytes RFC 9110 says', () => {
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.nat(1000),
        fc.integer({ min: 1, max: 1000 }),
        fc.boolean(),
        (a, b, size, suffix) => {
          const r = resolveRange(suffix ? `bytes=-${b}` : `bytes=${a}-${b}`, size);
          if (suffix) {
            if (b === 0) assert.equal(r.status, 416);
            else
              assert.deepEqual(
                [r.status === 416 ? -1 : r.start, r.status === 416 ? -1 : r.end],
                [Math.max(0, size - b), size],
              );
          } else if (a >= size || b < a) {
            assert.equal(r.status, 416);
          } else {
            assert.ok(r.status !== 416);
            assert.deepEqual([r.start, r.end], [a, Math.min(b + 1, size)]);
          }
        },
      ),
      params(2000),
    );
  });
});

describe('fuzz: template parser', () => {
  test('any source compiles or throws ParseError (or names a missing template), never crashes', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        '{{',
        '}}',
        '{%',
        '%}',
        '{#',
        '#}',
        '{{!',
        '{%!',
        '{',
        '}',
        '%',
        '#',
        '!',
        ' ',
        '\n',
        'if x',
        'elif y',
        'else',
        'end',
        'for x in xs',
        'for k, v in m',
        'while 0',
        'try',
        'except',
        'except e',
        'finally',
        'set x = 1',
        'break',
        'continue',
        'raw x',
        'apply f',
        'block b',
        'module M()',
        'autoescape None',
        'whitespace oneline',
        'comment c',
        'include "x"',
        'extends "y"',
        'x',
        '1 +',
        '(',
        ')',
        '"',
        "'",
        '`',
        '/*',
        '//',
        '<pre>',
        '{{ x }}',
        '{% end %}',
        '{% if x %}',
        '{% else %}',
        '{% for i in xs %}',
        '{% try %}',
      ),
      fc.string({ maxLength: 4 }),
    );
    const source = fc.array(piece, { maxLength: 24 }).map((parts) => parts.join(''));
    const loader = new DictLoader({ x: 'X', y: '{% block b %}B{% end %}' });
    fc.assert(
      fc.property(source, (src) => {
        try {
          new Template(src, { name: 'p.html', loader });
        } catch (err) {
          // `{% extends "y"{% … %}` extends the template `y"{% …`: the name runs to the tag's
          // end, as in Tornado, and a name the loader lacks is a typed not-found error.
          if (err instanceof TemplateNotFoundError) {
            assert.ok(!['x', 'y'].includes(err.templateName ?? 'x'), String(err.templateName));
            return;
          }
          if (!(err instanceof ParseError)) throw err;
          assert.ok(err.lineno >= 0 && err.lineno <= src.split('\n').length);
        }
      }),
      params(1500),
    );
  });
});

// Typed errors: TyphoonError is the base of everything a parser above may surface publicly.
test('HTTPInputError is a TyphoonError', () => {
  assert.ok(new HTTPInputError('x') instanceof TyphoonError);
});
