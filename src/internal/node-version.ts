/**
 * The first import of every entry point of typhoon: on a Node.js older than typhoon supports,
 * importing typhoon fails with one sentence that says so, instead of whatever a newer API
 * missing from the old Node happens to break first.
 *
 * For that sentence to be reached, the whole module graph has to link on the old Node (linking
 * comes before any module runs): a named import of a built-in export the old Node lacks would
 * fail the link with a cryptic SyntaxError, so modules import such built-ins as a namespace
 * (`import * as workerThreads from 'node:worker_threads'`) and look the name up when called.
 * This module imports nothing, so it runs before every other module of typhoon.
 *
 * Layer 0.
 */

import process from 'node:process';

/** The oldest Node.js typhoon supports, as `[major, minor]` (also `engines` in package.json). */
export const MINIMUM_NODE: readonly [number, number] = [22, 19];

/** Whether a Node.js version string (`process.versions.node`, `22.19.0`) is supported. */
export function isSupportedNode(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor >= MINIMUM_NODE[1]);
}

if (!isSupportedNode(process.versions.node)) {
  throw new Error(`typhoon needs Node.js ≥ ${MINIMUM_NODE.join('.')}; this is ${process.version}`);
}
