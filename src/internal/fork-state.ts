/**
 * Whether this process is a child started by `forkProcesses`, for the listeners below it.
 *
 * Children of `forkProcesses` that listen on the same fixed port each bind it with
 * `SO_REUSEPORT` (`reusePort`), so the kernel spreads connections over them. Measured against
 * `node:cluster`'s round-robin handle passing (bench/processes.bench.ts, bench/RESULTS.md):
 * the same hello-world throughput, and a far more even spread of held connections when the
 * machine is busy (round-robin favours whichever child answers the primary first). Port 0
 * keeps cluster's shared handle, so all children still get the one port the first one drew.
 * process/fork.ts sets the flag; netutil.ts and httpserver/ read it.
 * @module
 */

import process from 'node:process';

// Where Node's `reusePort` listen option exists; elsewhere it throws, and cluster's
// round-robin handle is used instead.
const REUSE_PORT_PLATFORMS: ReadonlySet<string> = new Set(['linux', 'freebsd', 'sunos', 'aix']);

let forkedChild = false;

/** Called by `forkProcesses` in a child it started. */
export function markForkedChild(): void {
  forkedChild = true;
}

/** Whether a listener on `port` binds with `reusePort` when its caller did not say. */
export function reusePortByDefault(port: number): boolean {
  return forkedChild && port !== 0 && REUSE_PORT_PLATFORMS.has(process.platform);
}
