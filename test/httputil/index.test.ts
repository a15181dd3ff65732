// The pure parts of httputil: headers, query/form/multipart/cookie parsers fed hostile input
// directly, urlConcat, formatTimestamp, and HTTPServerRequest's lazy maps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HTTPHeaders,
  HTTPServerRequest,
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

test('HTTPHeaders: case-insensitive, multi-valued, normalized names', () => {
  const h = HTTPHeaders.parse(
    'content-type: text/html\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Long: one\r\n  two\r\n',
  );
  assert.equal(h.get('Content-Type'), 'text/html');
  assert.deepEqual(h.getList('SET-COOKIE'), ['a=1', 'b=2']);
  assert.equal(h.get('set-cookie'), 'a=1,b=2');
  assert.equal(h.get('x-long'), 'one two');
  assert.deepEqual([...h.keys()], ['Content-Type', 'Set-Cookie', 'X-Long']);
  assert.deepEqual(
    [...h.getAll()],
    [
      ['Content-Type', 'text/html'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['X-Long', 'one two'],
    ],
  );
  h.set('set-cookie', 'c=3');
  assert.deepEqual(h.getList('Set-Cookie'), ['c=3']);
  assert.equal(h.delete('X-LONG'), true);
  assert.equal(h.has('x-long'), false);
  assert.deepEqual(h.copy().toFlatArray(), ['Content-Type', 'text/html', 'Set-Cookie', 'c=3']);
  assert.throws(() => HTTPHeaders.parse('no colon here'), HTTPInputError);
  assert.throws(() => HTTPHeaders.parse(' leading continuation'), HTTPInputError);
  const proto = new HTTPHeaders({ __proto__: 'x' } as unknown as Record<string, string>);
  assert.equal(proto.get('constructor'), undefined);
  const raw = HTTPHeaders.fromRaw(['__proto__', 'a', 'constructor', 'b']);
  assert.equal(raw.get('__proto__'), 'a');
  assert.equal(raw.toObject().constructor, 'b');
});

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

test('HTTPServerRequest: lazy arguments, files, cookies, host, fullUrl', () => {
  const request = new HTTPServerRequest({
    method: 'POST',
    uri: '/p?a=1&b=2',
    headers: [
      'Host',
      'Example.COM:8080',
      'Content-Type',
      'application/x-www-form-urlencoded',
      'Cookie',
      'k=v',
    ],
    body: Buffer.from('a=3&c=4'),
  });
  assert.equal(request.path, '/p');
  assert.equal(request.query, 'a=1&b=2');
  assert.equal(request.host, 'Example.COM:8080');
  assert.equal(request.hostName, 'example.com');
  assert.equal(request.fullUrl(), 'http://Example.COM:8080/p?a=1&b=2');
  assert.deepEqual(request.arguments.a!.map(String), ['1', '3']);
  assert.deepEqual(Object.keys(request.queryArguments), ['a', 'b']);
  assert.deepEqual(Object.keys(request.bodyArguments), ['a', 'c']);
  assert.deepEqual(Object.keys(request.files), []);
  assert.equal(request.cookies.k, 'v');
  assert.equal(request.headers.get('cookie'), 'k=v');
  assert.ok(request.requestTime() >= 0);
  const bad = new HTTPServerRequest({ uri: '/?a=%zz' });
  assert.throws(() => bad.arguments, HTTPInputError);
  assert.equal(new HTTPServerRequest().host, '127.0.0.1');
});
