// The chat demo in a real headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core): two pages, a message typed in one appears in the other, as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { startChat, until } from './start-chat.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found (install Debian's chromium package; .ci/run does)`;
if (skip) console.log(`# skipping the chat browser test: ${skip}`);

test(
  'two pages: a message typed in one appears in the other, as text',
  { skip, timeout: 60_000 },
  async () => {
    const chat = await startChat();
    // A fresh profile per run, removed afterwards.
    const profile = mkdtempSync(join(tmpdir(), 'typhoon-chromium-'));
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      const alice = await context.newPage();
      const bob = await context.newPage();
      const errors: string[] = [];
      // Alice streams (EventSource), Bob long-polls (the page's fallback, forced).
      for (const [page, path] of [
        [alice, '/'],
        [bob, '/?transport=poll'],
      ] as const) {
        page.on('pageerror', (error) => errors.push(String(error)));
        await page.goto(chat.url(path));
      }
      await until(
        () => chat.room.streams === 1 && chat.room.polls === 1,
        'one page to stream and one to poll',
        15_000,
      );

      await alice.fill('#message', 'Hello from Alice');
      await alice.press('#message', 'Enter');
      await bob.waitForSelector('#inbox li.message >> text=Hello from Alice', { timeout: 15_000 });
      // The input clears once Alice's own POST is answered, which can come after Bob's copy.
      for (let waited = 0; (await alice.inputValue('#message')) !== ''; waited += 50) {
        assert.ok(waited < 15_000, 'the input to clear after sending');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Alice sees her own message exactly once (from her post and her poll, deduplicated).
      await alice.waitForSelector('#inbox li.message >> text=Hello from Alice');
      assert.equal(await alice.locator('#inbox li.message').count(), 1);

      // Markup in a message is shown as text, never run or rendered.
      const attack = '<img src=x onerror="window.pwned=1"><b>bold</b>';
      await bob.fill('#message', attack);
      await bob.click('#send');
      const item = alice.locator('#inbox li.message').nth(1);
      await item.waitFor({ timeout: 15_000 });
      assert.equal(await item.locator('.body').textContent(), attack);
      assert.equal(await alice.locator('#inbox img, #inbox b').count(), 0);
      assert.equal(await alice.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);

      // Closing a page drops its poll on the server; the stream stays.
      await until(() => chat.room.polls === 1, 'Bob to poll again', 15_000);
      await bob.close();
      await until(() => chat.room.polls === 0, 'the closed page’s poll to be dropped', 15_000);
      assert.equal(chat.room.streams, 1);

      // A message posted by someone else (an API client) reaches the streaming page too, and a
      // reload shows the history rendered by the server's templates: the very elements the
      // live messages became (both are message.html's markup), in the same order.
      await fetch(chat.url('/a/message/new'), {
        method: 'POST',
        body: new URLSearchParams({ body: 'from the API' }),
      });
      await alice.waitForSelector('#inbox li.message >> text=from the API', { timeout: 15_000 });
      const items = () =>
        alice.locator('#inbox li.message').evaluateAll((els) => els.map((el) => el.outerHTML));
      const shown = await items();
      assert.equal(shown.length, 3);
      await alice.reload();
      assert.deepEqual(await items(), shown);
      assert.deepEqual(errors, []);
    } finally {
      await context?.close();
      rmSync(profile, { recursive: true, force: true });
      await chat.close();
    }
  },
);
