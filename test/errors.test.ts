// The error registry: every error class typhoon exports extends TyphoonError, has name equal
// to its class name and a unique, stable errorCode, passes `cause` through, is exported from
// the package root, and appears in the README's error table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as errors from '../src/errors.ts';
import * as api from '../src/index.ts';

const classes = Object.entries(errors).filter(
  (entry): entry is [string, typeof errors.TyphoonError] =>
    typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
);

function make(name: string, Cls: typeof errors.TyphoonError, cause?: unknown): Error {
  const options = cause === undefined ? undefined : { cause };
  switch (name) {
    case 'HTTPError':
      return new errors.HTTPError(500, 'log', options ?? {});
    case 'HTTPClientError':
      return new errors.HTTPClientError(599, 'failed', options);
    case 'MissingArgumentError':
      return new errors.MissingArgumentError('x');
    case 'WorkerCrashedError':
      return new errors.WorkerCrashedError('died', { ...options, exitCode: 1 });
    case 'StreamClosedError':
      return new errors.StreamClosedError('closed', {
        realError: cause instanceof Error ? cause : undefined,
      });
    default:
      return new Cls('message', options);
  }
}

test('the registry is not empty', () => {
  assert.ok(classes.length >= 15, `only ${classes.length} error classes found`);
});

test('every error extends TyphoonError and is named after its class', () => {
  for (const [name, Cls] of classes) {
    const error = make(name, Cls);
    assert.ok(error instanceof errors.TyphoonError, `${name} does not extend TyphoonError`);
    assert.equal(error.name, name);
  }
});

test('errorCode is unique, stable-looking, and on both class and instance', () => {
  const seen = new Map<string, string>();
  for (const [name, Cls] of classes) {
    const code = Cls.errorCode;
    assert.match(code, /^TYPHOON_[A-Z0-9_]+$/, `${name}.errorCode`);
    if (name !== 'TyphoonError')
      assert.notEqual(code, 'TYPHOON_ERROR', `${name} lacks its own code`);
    assert.equal(seen.get(code), undefined, `${name} reuses ${code} of ${seen.get(code)}`);
    seen.set(code, name);
    assert.equal((make(name, Cls) as errors.TyphoonError).errorCode, code);
  }
});

test('cause is passed through', () => {
  const cause = new Error('root');
  for (const [name, Cls] of classes) {
    if (name === 'MissingArgumentError') continue;
    assert.equal(make(name, Cls, cause).cause, cause, `${name} drops cause`);
  }
  assert.equal(new errors.StreamClosedError('x', { realError: cause }).realError, cause);
});

test('every error class is exported from the package root', () => {
  for (const [name, Cls] of classes) {
    assert.equal((api as Record<string, unknown>)[name], Cls, `${name} not exported`);
  }
});

test("every error class is in the README's error table", () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  for (const [name, Cls] of classes) {
    assert.match(readme, new RegExp(`\\| \`${name}\` \\| \`${Cls.errorCode}\` \\|`), name);
  }
});

test('HTTPError formats its log message and keeps status and reason', () => {
  const e = new errors.HTTPError(404, 'no user %s in %s', 'bob', 'db', { reason: 'Gone Fishing' });
  assert.equal(e.statusCode, 404);
  assert.equal(e.logMessage, 'no user bob in db');
  assert.equal(e.reason, 'Gone Fishing');
});

test('HTTPClientError carries code and response', () => {
  const response = { body: 'x' };
  const e = new errors.HTTPClientError(502, undefined, { response });
  assert.equal(e.code, 502);
  assert.equal(e.response, response);
  assert.match(e.message, /502: Bad Gateway/);
});
