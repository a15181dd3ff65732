/**
 * The guide's interleaving, with real HTTP: a handler streams a document chunk by chunk from
 * an upstream server, and starts fetching chunk n+1 *before* it waits for chunk n to be
 * flushed to its own client, so the upstream fetch and the flush overlap. The handler keeps
 * a log of the steps so the overlap can be seen (and tested).
 *
 * Run it: `node examples/guide/fetch-interleaved.ts`
 * Tornado guide: "Coroutines" → "Interleaving".
 */
import type { Future } from '../../src/concurrent.ts';
import { coroutine } from '../../src/gen.ts';
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';

/** Options of {@link InterleavedHandler}. */
export interface InterleavedArgs {
  /** Base URL of the chunk server: chunk n is at `${upstream}/chunk/${n}`, 404 at the end. */
  upstream: string;
  /** Where the handler records its steps. */
  log: string[];
}

/** Streams the upstream document, fetching ahead of each flush. */
export class InterleavedHandler extends RequestHandler {
  upstream = '';
  log: string[] = [];
  #next = 0;

  override initialize(initArgs: object): void {
    ({ upstream: this.upstream, log: this.log } = initArgs as InterleavedArgs);
  }

  /** Start fetching the next chunk; the Future gives `null` past the end. */
  fetchNextChunk(): Future<string | null> {
    const n = this.#next++;
    this.log.push(`fetch ${n} started`);
    return coroutine(function* (this: InterleavedHandler) {
      const response = (yield new AsyncHTTPClient().fetch(`${this.upstream}/chunk/${n}`, {
        raiseError: false,
      })) as HTTPResponse;
      this.log.push(`fetch ${n} done`);
      if (response.code === 404) return null; // the end of the document
      response.rethrow();
      return response.text;
    }).call(this);
  }

  override *get(): Generator<unknown, void, unknown> {
    let fetchFuture = this.fetchNextChunk();
    for (;;) {
      const chunk = (yield fetchFuture) as string | null;
      if (chunk === null) break;
      this.write(chunk);
      fetchFuture = this.fetchNextChunk(); // n+1 starts before n is flushed
      this.log.push(`flush ${chunk}`);
      yield this.flush();
      this.log.push(`flushed ${chunk}`);
    }
  }
}

/** The application: `/stream` served by {@link InterleavedHandler}. */
export function makeInterleavedApp(args: InterleavedArgs): Application {
  return new Application([['/stream', InterleavedHandler, args]]);
}

if (import.meta.filename === process.argv[1]) {
  const { startTestServer } = await import('../../src/testing.ts');
  const { makeFetchApp } = await import('./fetch-server.ts');
  const upstream = await startTestServer(makeFetchApp());
  const log: string[] = [];
  const server = await startTestServer(
    makeInterleavedApp({ upstream: upstream.url('').replace(/\/$/, ''), log }),
  );
  const response = await new AsyncHTTPClient().fetch(server.url('/stream'));
  console.log(response.text);
  console.log(log.join('\n'));
  await server.close();
  await upstream.close();
  await new AsyncHTTPClient().close();
}
