/**
 * The local typhoon server the fetch examples of the guide talk to:
 *
 * - `GET /hello` → `Hello, world`
 * - `GET /echo/NAME` → `NAME` (distinct URLs for the parallel fetches)
 * - `GET /chunk/N` → `chunk N;` for N below 5, 404 after (the "upstream" of the interleaving
 *   example)
 *
 * Run it on its own (the synchronous example needs a server in another process, since the
 * blocking client parks its whole thread): `node examples/guide/fetch-server.ts [PORT]` prints
 * `listening PORT`.
 */
import { Application, RequestHandler } from '../../src/web/index.ts';
import { HTTPError } from '../../src/errors.ts';

/** Number of chunks `/chunk/N` serves. */
export const CHUNKS = 5;

class HelloHandler extends RequestHandler {
  override get(): void {
    this.write('Hello, world');
  }
}

class EchoHandler extends RequestHandler {
  override get(name: string): void {
    this.write(name);
  }
}

class ChunkHandler extends RequestHandler {
  override get(n: string): void {
    if (Number(n) >= CHUNKS) throw new HTTPError(404);
    this.write(`chunk ${n};`);
  }
}

/** The application of the fetch examples. */
export function makeFetchApp(): Application {
  return new Application([
    ['/hello', HelloHandler],
    ['/echo/([^/]+)', EchoHandler],
    ['/chunk/(\\d+)', ChunkHandler],
  ]);
}

if (import.meta.filename === process.argv[1]) {
  const server = await makeFetchApp().listen(Number(process.argv[2] ?? 0), '127.0.0.1');
  console.log(`listening ${server.address()!.port}`);
}
