/**
 * The worker thread behind the synchronous `HTTPClient` (see `sync.ts`): it runs
 * a private `AsyncHTTPClient`, answers each request message on its port, then raises the
 * shared flag and wakes the blocked caller with `Atomics.notify`. Not a public module.
 * @module
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { HTTPClientError } from '../errors.ts';
import { AsyncHTTPClient, type HTTPResponse } from './index.ts';
import type { HTTPClientOptions, SyncFetchMessage, SyncFetchReply } from './sync.ts';

const {
  flag: shared,
  port,
  options,
} = workerData as {
  flag: SharedArrayBuffer;
  port: MessagePort;
  options: HTTPClientOptions;
};
const flag = new Int32Array(shared);
const client = new AsyncHTTPClient({ ...options, forceInstance: true, maxClients: 1 });
// Loaded: tell the waiting caller (see HTTPClient's start-up wait).
Atomics.store(flag, 1, 1);
Atomics.notify(flag, 1);

function reply(message: SyncFetchReply): void {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

function fromResponse(response: HTTPResponse, statusError: boolean): SyncFetchReply {
  const out: SyncFetchReply = {
    code: response.code,
    reason: response.reason,
    headers: response.headers.toFlatArray(),
    body: response.body,
    effectiveUrl: response.effectiveUrl,
    requestTime: response.requestTime,
    startTime: response.startTime,
    timeInfo: response.timeInfo,
  };
  const error = response.error;
  if (error !== undefined) {
    const prefix = `HTTP ${error.code}: `;
    out.error = {
      code: error.code,
      message: error.message.startsWith(prefix)
        ? error.message.slice(prefix.length)
        : error.message,
      statusError,
    };
    const cause = error.cause;
    if (cause instanceof Error) {
      out.error.cause = {
        name: cause.name,
        message: cause.message,
        code: (cause as { code?: unknown }).code,
      };
    }
  }
  return out;
}

port.on('message', (message: SyncFetchMessage) => {
  client.fetch(message.url, message.options).then(
    (response) => reply(fromResponse(response, true)),
    (err: unknown) => {
      if (err instanceof HTTPClientError && err.response !== undefined) {
        reply(fromResponse(err.response as HTTPResponse, false));
        return;
      }
      const error =
        err instanceof HTTPClientError
          ? err
          : new HTTPClientError(599, String(err), { cause: err });
      const prefix = `HTTP ${error.code}: `;
      const cause = error.cause;
      reply({
        code: 599,
        reason: 'Unknown',
        headers: [],
        body: new Uint8Array(0),
        effectiveUrl: message.url,
        requestTime: 0,
        startTime: Date.now(),
        timeInfo: { queue: 0, total: 0, redirects: 0 },
        error: {
          code: error.code,
          message: error.message.startsWith(prefix)
            ? error.message.slice(prefix.length)
            : error.message,
          statusError: false,
          ...(cause instanceof Error
            ? {
                cause: {
                  name: cause.name,
                  message: cause.message,
                  code: (cause as { code?: unknown }).code,
                },
              }
            : {}),
        },
      });
    },
  );
});
