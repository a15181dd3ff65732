// "No request lost or left hanging when long-poll clients come and go" — the smaller, test-
// sized version of bench/longpoll.bench.ts's check, run against the chat demo: 500 pages
// poll, half of them go away abruptly, a message is posted, and every page that stayed gets
// it while the server ends up holding nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LongPollCrowd } from '../../bench/longpoll-clients.ts';
import { startChat, until } from './start-chat.ts';

const CLIENTS = 500;

test(`${CLIENTS} long-poll clients come and go: none lost, none hanging, no waiter left`, async () => {
  const chat = await startChat();
  let crowd: LongPollCrowd | undefined;
  try {
    // Every page polls from the position its page load gave it: the channel's latest.
    const { position } = (await (
      await fetch(`http://127.0.0.1:${chat.port}/a/message/history`)
    ).json()) as {
      position: string;
    };
    crowd = await LongPollCrowd.open({
      port: chat.port,
      path: `/a/message/updates?cursor=${encodeURIComponent(position)}`,
      count: CLIENTS,
      connectConcurrency: 100,
    });
    await until(() => chat.room.polls === CLIENTS, `${CLIENTS} held polls`, 20_000);
    assert.equal(crowd.finishedEarly, 0);

    const gone = crowd.dropHalf();
    assert.equal(gone, CLIENTS / 2);
    await until(
      () => chat.room.polls === CLIENTS - gone,
      'the departed clients’ polls to be dropped',
      20_000,
    );

    const response = await fetch(`http://127.0.0.1:${chat.port}/a/message/new`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'body=hello+everyone',
    });
    assert.equal(response.status, 200);
    await response.arrayBuffer();

    const outcome = await crowd.settle({ timeoutMs: 20_000, expect: /"body":"hello everyone"/ });
    assert.deepEqual(
      { answered: outcome.answered, failed: outcome.failed, hanging: outcome.hanging },
      { answered: CLIENTS - gone, failed: 0, hanging: 0 },
      outcome.firstFailure,
    );
    await until(() => chat.room.polls === 0, 'no held polls');
  } finally {
    crowd?.destroy();
    await chat.close();
  }
});
