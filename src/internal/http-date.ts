/**
 * The `Date` header value of a response sent now, formatted once a second: formatting it per
 * request shows in benchmarks, and so does reading the clock per request. As node does for
 * its own `Date`, the value is kept until a timer at the next second clears it. Shared by the
 * HTTP server's header block and the handler's header map.
 * @module
 */

let cached: string | undefined;

function expire(): void {
  cached = undefined;
}

/** Now as an HTTP date (`Mon, 07 Dec 2026 19:16:35 GMT`). */
export function httpDateNow(): string {
  if (cached === undefined) {
    const now = new Date();
    cached = now.toUTCString();
    // Unref'd: the date of a response must never keep a process alive.
    setTimeout(expire, 1000 - now.getMilliseconds()).unref();
  }
  return cached;
}
