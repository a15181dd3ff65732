// The chat page's client: one long-poll loop that asks for messages newer than the last one
// it has, and a form that posts new ones. Messages are inserted as text (textContent), never
// as HTML, so a message cannot inject markup or script into anyone's page.
'use strict';

(() => {
  const inbox = document.getElementById('inbox');
  const form = document.getElementById('messageform');
  const input = document.getElementById('message');
  const sendButton = document.getElementById('send');
  const status = document.getElementById('status');
  const errorBox = document.getElementById('error');

  /** Id of the newest message shown; the cursor of the next poll. */
  let cursor = null;
  /** Delay before retrying after a failed poll; doubles up to 30 s, reset on success. */
  let retryDelay = 500;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // When the server turns on XSRF protection (Tornado style), it sets an `_xsrf` cookie that
  // must come back in a header on every POST.
  function xsrfHeaders() {
    const match = /(?:^|;\s*)_xsrf=([^;]*)/.exec(document.cookie);
    return match ? { 'X-XSRFToken': decodeURIComponent(match[1]) } : {};
  }

  function setStatus(text) {
    status.textContent = text;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function show(message) {
    const id = `m${message.id}`;
    if (document.getElementById(id)) return; // our own post, already shown
    const item = document.createElement('li');
    item.className = 'message';
    item.id = id;
    const time = document.createElement('time');
    const when = new Date(message.time);
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleTimeString();
    item.append(time);
    if (message.author) {
      const author = document.createElement('span');
      author.className = 'author';
      author.textContent = message.author;
      item.append(author);
    }
    const body = document.createElement('span');
    body.className = 'body';
    body.textContent = message.body;
    item.append(body);
    inbox.append(item);
    inbox.scrollTop = inbox.scrollHeight;
    if (cursor === null || message.id > cursor) cursor = message.id;
  }

  async function poll() {
    for (;;) {
      try {
        const query = cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`;
        const response = await fetch(`/a/message/updates${query}`, {
          headers: { Accept: 'application/json' },
          cache: 'no-store',
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        for (const message of data.messages) show(message);
        setStatus('connected');
        retryDelay = 500;
      } catch (error) {
        setStatus(`reconnecting… (${error.message})`);
        await sleep(retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30_000);
      }
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    sendButton.disabled = true;
    try {
      const response = await fetch('/a/message/new', {
        method: 'POST',
        headers: { Accept: 'application/json', ...xsrfHeaders() },
        body: new URLSearchParams({ body: text }),
      });
      if (!response.ok) {
        const detail = await response.json().catch(() => null);
        throw new Error(detail?.error ?? `HTTP ${response.status}`);
      }
      show(await response.json());
      input.value = '';
      showError('');
    } catch (error) {
      showError(`Not sent: ${error.message}`);
    } finally {
      sendButton.disabled = false;
      input.focus();
    }
  });

  void poll();
})();
