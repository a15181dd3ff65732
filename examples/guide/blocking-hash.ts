/**
 * Calling a blocking function from a coroutine, as in the guide: hashing a password with a
 * deliberately slow key-derivation function (PBKDF2 here, bcrypt in the guide) burns a few
 * hundred milliseconds of CPU, and on the loop that would stall every other connection. So the
 * coroutine hands it to a `ThreadPoolExecutor` and waits for the Future, without blocking.
 *
 * Twice, as the guide's other examples: a generator coroutine that `yield`s the Future, and an
 * `async` function that `await`s it. The hash function is self-contained (it gets the crypto
 * module itself), because `submit()` sends it to the worker thread as source text.
 *
 * Run it: `node examples/guide/blocking-hash.ts`
 * Tornado guide: "Coroutines" → "Calling blocking functions"
 * (`yield thread_pool.submit(blocking_func, args)`).
 */
import { pathToFileURL } from 'node:url';
import { ThreadPoolExecutor } from '../../src/executor/index.ts';
import { coroutine } from '../../src/gen.ts';

/** The guide's `thread_pool = ThreadPoolExecutor(4)`. Idle workers do not keep the process up. */
export const threadPool = new ThreadPoolExecutor({ maxWorkers: 4 });

/** Iterations of PBKDF2-SHA256: enough to take a noticeable fraction of a second. */
export const ITERATIONS = 1_000_000;

/** The blocking function: a slow password hash. Self-contained, so it can run on a worker. */
export function hashPassword(password: string, salt: string, iterations: number): string {
  const { pbkdf2Sync } = process.getBuiltinModule('node:crypto');
  return pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('hex');
}

/** Generator coroutine: `yield` the executor's Future, get the digest back. */
export const callBlocking = coroutine(function* (
  password: string,
  salt: string,
  iterations: number = ITERATIONS,
) {
  const digest = (yield threadPool.submit(hashPassword, password, salt, iterations)) as string;
  return `pbkdf2-sha256$${iterations}$${salt}$${digest}`;
});

/** The same with native async/await. */
export async function callBlockingAsync(
  password: string,
  salt: string,
  iterations: number = ITERATIONS,
): Promise<string> {
  const digest = await threadPool.submit(hashPassword, password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${salt}$${digest}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  const [fromGenerator, fromAsync] = await Promise.all([
    callBlocking('correct horse battery staple', 'NaCl'),
    callBlockingAsync('correct horse battery staple', 'NaCl'),
  ]);
  console.log(`generator coroutine: ${fromGenerator}`);
  console.log(`async function:      ${fromAsync}`);
  console.log(`same digest: ${fromGenerator === fromAsync}`);
  console.log(
    `two hashes in parallel on worker threads: ${Math.round(performance.now() - started)} ms`,
  );
  await threadPool.shutdown();
}
