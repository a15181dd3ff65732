// Shared pieces of the AsyncHTTPClient tests: a private client against a node:http peer.
import assert from 'node:assert/strict';
import type * as http from 'node:http';
import { HTTPClientError } from '../../src/errors.ts';
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';
import { httpPeer, type Peer } from './http-peers.ts';

/** Await `promise`, which must reject with an HTTPClientError; return that error. */
export async function rejects(
  promise: PromiseLike<unknown>,
): Promise<HTTPClientError<HTTPResponse>> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HTTPClientError, `expected HTTPClientError, got ${String(err)}`);
    return err as HTTPClientError<HTTPResponse>;
  }
  assert.fail('expected the fetch to reject');
}

/** Run `fn` with a peer serving `handler` and a private client; close both afterwards. */
export async function withPeer(
  handler: http.RequestListener,
  fn: (peer: Peer, client: AsyncHTTPClient) => Promise<void>,
  options: ConstructorParameters<typeof AsyncHTTPClient>[0] = {},
): Promise<void> {
  const peer = await httpPeer(handler);
  const client = new AsyncHTTPClient({ ...options, forceInstance: true });
  try {
    await fn(peer, client);
  } finally {
    await client.close();
    await peer.close();
  }
}

/** Echo the request back as JSON. */
export /** Echo the request back as JSON. */
const echo: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      }),
    );
  });
};

/** What {@link echo} answers. */
export interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}
