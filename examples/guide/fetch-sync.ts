/**
 * The guide's synchronous fetch: `HTTPClient.fetch` returns the response itself and the thread
 * waits meanwhile — fine for a script, fatal inside a server (the loop stops with it).
 *
 * Run it: `node examples/guide/fetch-sync.ts` (it starts fetch-server.ts in a child process:
 * a server on this thread could not answer while the thread is blocked).
 * Tornado guide: "Asynchronous and non-Blocking I/O" → synchronous `HTTPClient`.
 */
import { spawn } from 'node:child_process';
import { HTTPClient } from '../../src/httpclient/index.ts';

/** Fetch `url` and return its body, blocking until it arrives. */
export function synchronousFetch(url: string): Buffer {
  const httpClient = new HTTPClient();
  try {
    const response = httpClient.fetch(url);
    return response.body;
  } finally {
    httpClient.close();
  }
}

if (import.meta.filename === process.argv[1]) {
  const server = spawn(process.execPath, [new URL('./fetch-server.ts', import.meta.url).pathname], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) => {
    server.stdout.once('data', (d: Buffer) => resolve(/listening (\d+)/.exec(d.toString())![1]!));
  });
  console.log(synchronousFetch(`http://127.0.0.1:${port}/hello`).toString());
  server.kill();
}
