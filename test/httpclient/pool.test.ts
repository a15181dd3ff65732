// The connection pool: at most maxClients requests in flight, the rest queued in order.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { TimeoutError } from '../../src/errors.ts';
import { appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { rejects, withPeer } from '../helpers/httpclient.ts';
import { until } from '../helpers/wait.ts';

describe('maxClients queue', () => {
  test('at most maxClients in flight, the rest queued in order; stats(); one warning', async () => {
    const order: string[] = [];
    const held: http.ServerResponse[] = [];
    await withPeer(
      (req, res) => {
        order.push(req.url!);
        held.push(res);
      },
      async (peer, client) => {
        await expectLog(appLog, /requests in flight \(maxClients\)/, async () => {
          const futures = [1, 2, 3, 4, 5].map((i) => client.fetch(peer.url(`/${i}`)));
          assert.deepEqual(client.stats(), { inFlight: 2, queued: 3, maxClients: 2 });
          futures.push(client.fetch(peer.url('/6')));
          assert.deepEqual(client.stats(), { inFlight: 2, queued: 4, maxClients: 2 });
          await until(() => held.length === 2, 'two requests at the server');
          await new Promise((resolve) => setTimeout(resolve, 30));
          assert.equal(held.length, 2, 'no third request reaches the server');
          // Each finished request frees its slot for the next one in line.
          for (let served = 0; served < 6; served++) {
            await until(() => held.length > 0, 'a held request');
            held.shift()!.end('ok');
          }
          const responses = await Promise.all(futures);
          assert.equal(responses.length, 6);
          assert.deepEqual([...order].sort(), ['/1', '/2', '/3', '/4', '/5', '/6']);
          assert.deepEqual(client.stats(), { inFlight: 0, queued: 0, maxClients: 2 });
        });
      },
      { maxClients: 2 },
    );
  });

  test('queued requests start in the order they were fetched', async () => {
    const order: string[] = [];
    await withPeer(
      (req, res) => {
        order.push(req.url!);
        setTimeout(() => res.end('ok'), 2);
      },
      async (peer, client) => {
        await expectLog(appLog, /maxClients/, async () => {
          const futures = Array.from({ length: 8 }, (_, i) => client.fetch(peer.url(`/${i}`)));
          assert.equal(client.stats().queued, 7);
          await Promise.all(futures);
        });
        assert.deepEqual(order, ['/0', '/1', '/2', '/3', '/4', '/5', '/6', '/7']);
      },
      { maxClients: 1 },
    );
  });

  test('time in the queue counts against queueTimeout: 599 "Timeout in request queue"', async () => {
    const held: http.ServerResponse[] = [];
    await withPeer(
      (_req, res) => held.push(res),
      async (peer, client) => {
        await expectLog(appLog, /maxClients/, async () => {
          const first = client.fetch(peer.url('/slow'));
          const second = client.fetch(peer.url('/queued'), { queueTimeout: 100 });
          assert.equal(client.stats().queued, 1);
          const err = await rejects(second);
          assert.equal(err.code, 599);
          assert.match(err.message, /Timeout in request queue/);
          assert.ok(err.cause instanceof TimeoutError);
          assert.equal(client.stats().queued, 0);
          held[0]!.end('done');
          assert.equal((await first).text, 'done');
        });
      },
      { maxClients: 1 },
    );
  });

  test('queueTimeout defaults to requestTimeout', async () => {
    const held: http.ServerResponse[] = [];
    await withPeer(
      (_req, res) => held.push(res),
      async (peer, client) => {
        await expectLog(appLog, /maxClients/, async () => {
          const first = client.fetch(peer.url('/slow'), { requestTimeout: 5000 });
          const started = performance.now();
          const err = await rejects(client.fetch(peer.url('/q'), { requestTimeout: 150 }));
          assert.match(err.message, /Timeout in request queue/);
          assert.ok(performance.now() - started >= 140);
          held[0]!.end();
          await first;
        });
      },
      { maxClients: 1 },
    );
  });
});
