// The chat page's client. The page arrives with the recent history already rendered and the
// broker position it ends at (`data-position` on the inbox). From there it holds one
// connection: an EventSource on /a/message/events (the browser resends the last event id as
// Last-Event-ID when it reconnects, so nothing is missed), or, where EventSource fails, a long
// poll on /a/message/updates with the same position as its cursor. When the server says the
// position cannot be resumed from (`reload`), the page reloads its history.
//
// Every message arrives with `html`, the server's rendering of templates/message.html, the
// template that renders the history on the page: the page inserts that, so a live message looks
// exactly like one in the history, and its text was escaped on the server the same way (the
// server renders from the message's data; nothing a client or another publisher sends is ever
// inserted as markup). `?transport=poll` in the page's URL forces long polling.
'use strict';

(() => {
  const inbox = document.getElementById('inbox');
  const form = document.getElementById('messageform');
  const input = document.getElementById('message');
  const sendButton = document.getElementById('send');
  const status = document.getElementById('status');
  const errorBox = document.getElementById('error');
  const text = status.dataset; // the page's translated status strings

  /** Where this page is in the channel: the last event id / cursor ("offset@epoch"). */
  let position = inbox.dataset.position || '';
  /** Delay before retrying after a failed poll; doubles up to 30 s, reset on success. */
  let retryDelay = 500;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // The server sets an `_xsrf` cookie (Tornado style) that must come back with every POST.
  function xsrfHeaders() {
    const match = /(?:^|;\s*)_xsrf=([^;]*)/.exec(document.cookie);
    return match ? { 'X-XSRFToken': decodeURIComponent(match[1]) } : {};
  }

  function setStatus(value) {
    status.textContent = value;
  }

  function showError(value) {
    errorBox.textContent = value;
    errorBox.hidden = !value;
  }

  function localTime(element) {
    const when = new Date(element.dateTime);
    if (!Number.isNaN(when.getTime())) element.textContent = when.toLocaleTimeString();
  }

  /** Show a message once, in offset order (our own post may arrive before older ones). */
  function show(message) {
    if (document.getElementById(`m${message.offset}`)) return; // our own post, or a resend
    // A <template> parses the server's markup inert (nothing loads or runs until inserted).
    const parsed = document.createElement('template');
    parsed.innerHTML = message.html;
    const item = parsed.content.firstElementChild;
    if (!item) return;
    for (const time of item.querySelectorAll('time')) localTime(time);
    const later = [...inbox.children].find((li) => Number(li.dataset.offset) > message.offset);
    inbox.insertBefore(item, later ?? null);
    inbox.scrollTop = inbox.scrollHeight;
  }

  /** The position could not be resumed from: start again from the server's history. */
  async function reloadHistory() {
    setStatus(text.reloading);
    for (;;) {
      try {
        const response = await fetch('/a/message/history', {
          headers: { Accept: 'application/json' },
          cache: 'no-store',
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        inbox.replaceChildren();
        for (const message of data.messages) show(message);
        position = data.position;
        return;
      } catch {
        await sleep(retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30_000);
      }
    }
  }

  function stream() {
    const source = new EventSource(`/a/message/events?lastEventId=${encodeURIComponent(position)}`);
    let opened = false;
    source.onopen = () => {
      opened = true;
      setStatus(text.connected);
    };
    source.onmessage = (event) => {
      position = event.lastEventId;
      show(JSON.parse(event.data));
    };
    source.addEventListener('reload', () => {
      source.close();
      void reloadHistory().then(stream);
    });
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) {
        setStatus(text.reconnecting); // the browser reconnects by itself, with Last-Event-ID
        return;
      }
      // The stream was refused or never opened (a proxy that breaks it): poll instead.
      source.close();
      void (opened ? sleep(retryDelay).then(stream) : poll());
    };
  }

  async function poll() {
    for (;;) {
      try {
        const response = await fetch(`/a/message/updates?cursor=${encodeURIComponent(position)}`, {
          headers: { Accept: 'application/json' },
          cache: 'no-store',
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        if (data.reload) {
          await reloadHistory();
          continue;
        }
        for (const message of data.messages) show(message);
        if (data.position) position = data.position;
        setStatus(text.connected);
        retryDelay = 500;
      } catch (error) {
        setStatus(`${text.reconnecting} (${error.message})`);
        await sleep(retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30_000);
      }
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = input.value;
    if (!value.trim()) return;
    sendButton.disabled = true;
    try {
      const response = await fetch('/a/message/new', {
        method: 'POST',
        headers: { Accept: 'application/json', ...xsrfHeaders() },
        body: new URLSearchParams({ body: value }),
      });
      if (!response.ok) {
        const detail = await response.json().catch(() => null);
        throw new Error(detail?.error ?? `HTTP ${response.status}`);
      }
      // Shown now; the position moves only with the stream, which may still owe us older ones.
      show(await response.json());
      input.value = '';
      showError('');
    } catch (error) {
      showError(`${errorBox.dataset.notSent} ${error.message}`);
    } finally {
      sendButton.disabled = false;
      input.focus();
    }
  });

  for (const time of inbox.querySelectorAll('time')) localTime(time);
  inbox.scrollTop = inbox.scrollHeight;
  const forcePoll = new URLSearchParams(location.search).get('transport') === 'poll';
  if (typeof EventSource === 'function' && !forcePoll) stream();
  else void poll();
})();
