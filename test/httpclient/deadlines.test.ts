// The client's hop deadlines share one timer (src/httpclient/deadlines.ts): each one must still
// fire on time, in any order of arrival, and the shared timer must never keep a process alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScript } from '../helpers/script.ts';
import { fileURLToPath } from 'node:url';
import { httpPeer } from '../helpers/http-peers.ts';
import { rejects, withPeer } from '../helpers/httpclient.ts';

/** How long the fetch `start` makes takes to reject, in ms (timed from before the call, which
 * itself may open the connection), and its message. */
async function timeToFail(start: () => PromiseLike<unknown>): Promise<[number, string]> {
  const before = performance.now();
  const err = await rejects(start());
  return [performance.now() - before, err.message];
}

test('a short requestTimeout that arrives after a long one fires at its own time', () =>
  withPeer(
    () => undefined, // never answers
    async (peer, client) => {
      const long = timeToFail(() => client.fetch(peer.url('/long'), { requestTimeout: 700 }));
      const short = timeToFail(() => client.fetch(peer.url('/short'), { requestTimeout: 150 }));
      const [shortMs, shortMessage] = await short;
      assert.match(shortMessage, /Timeout during request/);
      assert.ok(shortMs >= 145, `short one failed after ${shortMs} ms, before its 150 ms`);
      // Not at the long one's deadline: the shared timer was re-armed for the earlier one.
      assert.ok(shortMs < 600, `short one failed after ${shortMs} ms`);
      const [longMs, longMessage] = await long;
      assert.match(longMessage, /Timeout during request/);
      assert.ok(longMs >= 695, `long one failed after ${longMs} ms, before its 700 ms`);
    },
  ));

test('deadlines of many fetches, in and out of order, each fire once and on time', () =>
  withPeer(
    () => undefined,
    async (peer, client) => {
      const timeouts = [300, 120, 240, 120, 180, 300];
      const order: number[] = [];
      const outcomes = await Promise.all(
        timeouts.map((t, i) =>
          timeToFail(() => client.fetch(peer.url(`/${i}`), { requestTimeout: t })).finally(() =>
            order.push(t),
          ),
        ),
      );
      outcomes.forEach(([ms, message], i) => {
        assert.match(message, /Timeout during request/);
        assert.ok(ms >= timeouts[i]! - 5, `fetch ${i} failed after ${ms} ms < ${timeouts[i]}`);
      });
      // Each at its own deadline: they fail in the order of their timeouts.
      assert.deepEqual(
        order,
        [...timeouts].sort((a, b) => a - b),
      );
    },
    { maxClients: 10 },
  ));

test('the shared deadline timer does not keep a script alive after its fetches', async () => {
  const peer = await httpPeer((_req, res) => res.end('ok'));
  try {
    const module = fileURLToPath(new URL('../../src/httpclient/index.ts', import.meta.url));
    // Default timeouts (20 s): a timer held after the fetch would keep the script 20 s.
    const script = `
      import { AsyncHTTPClient } from ${JSON.stringify(module)};
      const client = new AsyncHTTPClient({ forceInstance: true });
      for (let i = 0; i < 3; i++) console.log((await client.fetch(${JSON.stringify(peer.url('/'))})).text);
    `;
    const start = performance.now();
    const { code, stdout: out } = await runScript(script, 15_000);
    assert.equal(code, 0, 'the script exited by itself');
    assert.equal(out, 'ok\nok\nok\n');
    const ms = performance.now() - start;
    assert.ok(ms < 10_000, `the script took ${ms} ms to exit`);
  } finally {
    await peer.close();
  }
});
