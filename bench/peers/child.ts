/**
 * Shared plumbing for the benchmark peer servers (run as child processes by
 * bench/peers/spawn.ts): read the port argument, announce readiness with `listening PORT` on
 * stdout, and exit as soon as the parent goes away (its end of our stdin pipe closes), so a
 * crashed or killed benchmark never leaves a server behind.
 */

/** The port from `argv[2]` (default 0: any free port). */
export function portArgument(): number {
  const raw = process.argv[2] ?? '0';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`bad port ${raw}`);
    process.exit(2);
  }
  return port;
}

/** Print the line the parent waits for. */
export function announce(port: number): void {
  process.stdout.write(`listening ${port}\n`);
}

/** Exit when stdin reaches end-of-file (the parent closed it, or died). */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

/** The JSON document every peer's `/json` endpoint returns. */
export const JSON_DOC = { message: 'Hello, world', id: 42, tags: ['fast', 'async', 'typed'] };

/** Run a full garbage collection if the process was started with `--expose-gc`. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}
