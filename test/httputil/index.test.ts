// HTTPServerRequest's lazy maps: arguments, files, cookies, host, fullUrl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTPServerRequest } from '../../src/httputil/index.ts';
import { HTTPInputError } from '../../src/errors.ts';

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

test('HTTPServerRequest.rawHeader: any spelling of the name, first line wins, absent is undefined', () => {
  const request = new HTTPServerRequest({
    headers: ['host', 'a.example', 'X-TAG', 'one', 'If-None-Match', '"e1"', 'x-tag', 'two'],
  });
  assert.equal(request.rawHeader('Host'), 'a.example');
  assert.equal(request.rawHeader('HOST'), 'a.example');
  assert.equal(request.rawHeader('x-tag'), 'one');
  assert.equal(request.rawHeader('X-Tag'), 'one');
  assert.equal(request.rawHeader('If-None-Match'), '"e1"');
  assert.equal(request.rawHeader('if-none-match'), '"e1"');
  // Same length as a header that is there, but another name.
  assert.equal(request.rawHeader('X-TAX'), undefined);
  assert.equal(request.rawHeader('Cookie'), undefined);
});
