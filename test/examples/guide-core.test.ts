// Runs the guide's core examples (no network) and checks what they produce: once by importing
// their functions, once by running each file as a script and reading its output.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as runner from '../../examples/guide/coroutine-runner.ts';
import * as task from '../../examples/guide/task-callback.ts';
import * as parallel from '../../examples/guide/parallel-yield.ts';
import * as interleaving from '../../examples/guide/interleaving.ts';
import * as cursor from '../../examples/guide/async-cursor.ts';
import * as walkthrough from '../../examples/guide/asyncio-walkthrough.ts';

function runScript(name: string): string {
  const file = fileURLToPath(new URL(`../../examples/guide/${name}`, import.meta.url));
  const child = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.status, 0, child.stderr);
  return child.stdout;
}

describe('coroutine-runner', () => {
  test('the simplified runner sends each result back into the generator', async () => {
    assert.deepEqual(await runner.demo(), [
      'start',
      'runner returned; the generator is waiting',
      'got first page',
      'got second page',
      'result: first page + second page',
    ]);
    assert.match(runScript('coroutine-runner.ts'), /result: first page \+ second page/);
  });
});

describe('task-callback', () => {
  test('Task and fromCallback adapt callback APIs', async () => {
    assert.equal(await task.fetchCoroutine('http://example.com/'), '<html>example</html>');
    assert.equal(await task.fetchAsync('http://example.com/about'), '<html>about</html>');
    assert.equal(await task.fetchAsync('http://example.com/none'), null);
    await assert.rejects(task.fetchNodeStyle('http://example.com/missing'), /404/);
    const out = runScript('task-callback.ts');
    assert.match(out, /coroutine: <html>example<\/html>/);
    assert.match(out, /node-style error: 404/);
  });
});

describe('parallel-yield', () => {
  test('a list and an object of futures are waited for in parallel, same shape', async () => {
    parallel.inFlight.max = 0;
    assert.deepEqual(await parallel.parallelFetch('/a', '/b'), {
      response1: 'response for /a',
      response2: 'response for /b',
      response3: 'response for /a?3',
      response4: 'response for /b?4',
    });
    assert.equal(parallel.inFlight.max, 2);
    assert.deepEqual(await parallel.parallelFetchAsync(['/x', '/y', '/z']), [
      'response for /x',
      'response for /y',
      'response for /z',
    ]);
    assert.equal(parallel.inFlight.max, 3);
    assert.match(runScript('parallel-yield.ts'), /most fetches in flight at once: 3/);
  });
});

describe('interleaving', () => {
  test("the next chunk's fetch starts before the current chunk is flushed", async () => {
    const source = new interleaving.ChunkSource(['a', 'b', 'c']);
    assert.deepEqual(await interleaving.streamChunks(source), ['a', 'b', 'c']);
    const at = (line: string) => source.log.indexOf(line);
    for (const [chunk, next] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'end'],
    ] as const) {
      assert.ok(at(`fetch start ${next}`) >= 0);
      assert.ok(
        at(`fetch start ${next}`) < at(`flush start ${chunk}`),
        `fetch of ${next} should start before flushing ${chunk}: ${source.log.join(', ')}`,
      );
    }
    assert.match(runScript('interleaving.ts'), /written: \[ 'a', 'b', 'c' \]/);
  });
});

describe('async-cursor', () => {
  test('while (yield cursor.fetchNext) and for await both visit every document', async () => {
    const docs = [1, 2, 3, 4, 5].map((id) => ({ id }));
    const c1 = new cursor.InMemoryCursor(docs, 2);
    assert.deepEqual(await cursor.loopExample(c1), docs);
    assert.equal(c1.fetches, 3);
    const c2 = new cursor.InMemoryCursor(docs, 2);
    assert.deepEqual(await cursor.loopForAwait(c2), docs);
    assert.equal(c2.fetches, 3);
    assert.deepEqual(await cursor.loopForAwait(new cursor.InMemoryCursor([])), []);
    assert.throws(() => new cursor.InMemoryCursor([1]).nextObject(), /without a successful/);
    assert.match(runScript('async-cursor.ts'), /for await: .*\(3 batch fetches\)/);
  });
});

describe('asyncio-walkthrough', () => {
  test('generators: next, send, throw, return values, yield*', () => {
    assert.deepEqual(walkthrough.generatorBasics(), [
      'type: [object Generator]',
      '1',
      '2',
      'done: true',
    ]);
    assert.deepEqual(walkthrough.sendAndThrow(), ['1', 'abc', '2', '3', 'Error: !']);
    assert.deepEqual(walkthrough.returnValues(), ['1', 'abc (done: true)']);
    assert.deepEqual(walkthrough.delegation(), ['1', '2', 'inner abc', 'outer 3', '4']);
  });

  test("a Future's three states and its done-callbacks", async () => {
    assert.deepEqual(await walkthrough.futureStates(), [
      'a: pending',
      'a: finished',
      'b: finished',
      'c: cancelled',
      '(callbacks run next)',
      'callback: result data',
      'callback: exception Error: boom',
      'callback: cancelled true',
    ]);
  });

  test('a minimal Task steps the coroutine each time its Future completes', async () => {
    const { result, steps } = await walkthrough.miniTaskDemo();
    assert.equal(result, 'HEAD:body | HEAD:body');
    assert.deepEqual(steps, [
      'task sends undefined',
      'task sends "HEAD"',
      'task sends "body"',
      'task sends "HEAD"',
      'task sends "body"',
    ]);
    const out = runScript('asyncio-walkthrough.ts');
    assert.match(out, /== 4\. yield\* \(yield from\)\n1\n2\ninner abc\nouter 3\n4\n/);
    assert.match(out, /result: HEAD:body \| HEAD:body/);
  });
});
