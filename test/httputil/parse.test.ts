// The pure parsers of httputil fed hostile input directly: query strings, form and multipart
// bodies, header values, cookies; urlConcat, formatTimestamp, host splitting, request paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HTTPHeaders,
  HTTPFile,
  parseQs,
  parseBodyArguments,
  parseCookie,
  parseHeaderValue,
  urlConcat,
  formatTimestamp,
  splitHostAndPort,
  requestPathOf,
  type ArgumentMap,
  type FileMap,
} from '../../src/httputil/index.ts';
import { HTTPInputError } from '../../src/errors.ts';

test('parseQs: raw byte values, blanks kept, plus as space, prototype-free', () => {
  const args = parseQs('a=1&a=&b&c=x+y%20z&e=%C3%A9&__proto__=p&constructor=c');
  assert.deepEqual(Object.getPrototypeOf(args), null);
  assert.deepEqual(args.a!.map(String), ['1', '']);
  assert.deepEqual(args.b!.map(String), ['']);
  assert.equal(args.c![0]!.toString(), 'x y z');
  assert.equal(args.e![0]!.toString('utf8'), 'é');
  assert.equal(args.__proto__![0]!.toString(), 'p');
  assert.equal(args['constructor' as string]![0]!.toString(), 'c');
  assert.deepEqual(Object.keys(parseQs('')), []);
  assert.deepEqual(Object.keys(parseQs('&&a=1&&')), ['a']);
});

test('parseQs refuses bad percent-encoding, bad UTF-8 names and too many fields', () => {
  for (const bad of ['a=%', 'a=%4', 'a=%zz', '%GG=1'])
    assert.throws(() => parseQs(bad), HTTPInputError, bad);
  assert.throws(() => parseQs('%FF=1'), HTTPInputError);
  assert.equal(Object.keys(parseQs('a=1&'.repeat(1000))).length, 1);
  assert.throws(() => parseQs('a=1&'.repeat(1001)), /too many fields/);
  assert.throws(() => parseQs('a&b&c', { maxFields: 2 }), /too many fields/);
});

test('parseBodyArguments: form-urlencoded and multipart (fields and files)', () => {
  const args: ArgumentMap = Object.create(null) as ArgumentMap;
  const files: FileMap = Object.create(null) as FileMap;
  parseBodyArguments(
    'application/x-www-form-urlencoded; charset=utf-8',
    Buffer.from('x=1&y=2'),
    args,
    files,
  );
  assert.deepEqual(Object.keys(args), ['x', 'y']);
  const body = Buffer.from(
    '--BOUND\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n' +
      '--BOUND\r\nContent-Disposition: form-data; name="up"; filename="a \\"b\\".txt"\r\nContent-Type: text/plain\r\n\r\nfile\r\nbody\r\n' +
      '--BOUND--\r\n',
  );
  parseBodyArguments('multipart/form-data; boundary="BOUND"', body, args, files);
  assert.equal(args.field![0]!.toString(), 'value');
  const file = files.up![0]!;
  assert.ok(file instanceof HTTPFile);
  assert.equal(file.filename, 'a "b".txt');
  assert.equal(file.contentType, 'text/plain');
  assert.equal(file.body.toString(), 'file\r\nbody');
  const skipped: ArgumentMap = Object.create(null) as ArgumentMap;
  parseBodyArguments(
    'application/x-www-form-urlencoded',
    Buffer.from('z=1'),
    skipped,
    files,
    new HTTPHeaders({ 'Content-Encoding': 'gzip' }),
  );
  assert.deepEqual(Object.keys(skipped), []);
});

test('multipart parser refuses malformed bodies with HTTPInputError', () => {
  const args: ArgumentMap = Object.create(null) as ArgumentMap;
  const files: FileMap = Object.create(null) as FileMap;
  const parse = (type: string, text: string) =>
    parseBodyArguments(type, Buffer.from(text), args, files);
  assert.throws(() => parse('multipart/form-data', '--x--'), /without boundary/);
  assert.throws(() => parse('multipart/form-data; boundary=x', 'no boundaries'), HTTPInputError);
  assert.throws(
    () => parse('multipart/form-data; boundary=x', '--x\r\nno headers end\r\n--x--'),
    HTTPInputError,
  );
  assert.throws(
    () =>
      parse(
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: attachment\r\n\r\nv\r\n--x--',
      ),
    /disposition/i,
  );
  let many = '';
  for (let i = 0; i < 1001; i++)
    many += `--x\r\nContent-Disposition: form-data; name="f${i}"\r\n\r\nv\r\n`;
  assert.throws(
    () => parse('multipart/form-data; boundary=x', many + '--x--'),
    /too many multipart parts/,
  );
});

test('parseHeaderValue and parseCookie', () => {
  assert.deepEqual(parseHeaderValue('form-data; name="a;b"; filename=x.txt'), [
    'form-data',
    Object.assign(Object.create(null) as object, { name: 'a;b', filename: 'x.txt' }),
  ]);
  const cookies = parseCookie('a=1; b="two"; a=3; __proto__=p; ; c; d="x\\073y"');
  assert.equal(cookies.a, '3', 'the last of repeated names wins, as in Tornado');
  assert.equal(cookies.d, 'x;y', 'octal escapes are undone');
  assert.equal(cookies.b, 'two');
  assert.equal(cookies.__proto__, 'p');
  assert.equal(cookies[''], 'c');
  assert.equal(Object.getPrototypeOf(cookies), null);
});

test('urlConcat', () => {
  assert.equal(urlConcat('http://e.com/foo', { c: 'd' }), 'http://e.com/foo?c=d');
  assert.equal(urlConcat('http://e.com/foo?a=b', { c: 'd e' }), 'http://e.com/foo?a=b&c=d%20e');
  assert.equal(urlConcat('http://e.com/foo?a=b&', { c: 'd' }), 'http://e.com/foo?a=b&c=d');
  assert.equal(
    urlConcat('/x#frag', [
      ['a', '1'],
      ['a', '2'],
    ]),
    '/x?a=1&a=2#frag',
  );
  assert.equal(urlConcat('/x', null), '/x');
  assert.equal(urlConcat('/x', {}), '/x');
  assert.throws(() => urlConcat('/x', 'a=b' as unknown as null), TypeError);
});

test('formatTimestamp and splitHostAndPort', () => {
  assert.equal(formatTimestamp(784111777000), 'Sun, 06 Nov 1994 08:49:37 GMT');
  assert.equal(formatTimestamp(new Date(Date.UTC(2000, 0, 1))), 'Sat, 01 Jan 2000 00:00:00 GMT');
  assert.throws(() => formatTimestamp(NaN), TypeError);
  assert.deepEqual(splitHostAndPort('example.com:8080'), ['example.com', 8080]);
  assert.deepEqual(splitHostAndPort('example.com'), ['example.com', undefined]);
  assert.deepEqual(splitHostAndPort('[::1]:80'), ['::1', 80]);
  assert.deepEqual(splitHostAndPort('::1'), ['::1', undefined]);
});

test('requestPathOf never reads a host out of the path', () => {
  assert.deepEqual(requestPathOf('/a/b?x=1'), ['/a/b', 'x=1']);
  assert.deepEqual(requestPathOf('http://evil.com/x?y'), ['/x', 'y']);
  assert.deepEqual(requestPathOf('http://evil.com'), ['/', '']);
  assert.deepEqual(requestPathOf('http://evil.com?q'), ['/', 'q']);
  assert.deepEqual(requestPathOf('//evil.com/x'), ['//evil.com/x', '']);
});
