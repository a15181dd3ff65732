/**
 * What autoreload re-executes: `node [execArgv] launcher MAIN [args]`. It takes itself out of
 * `process.argv` (so the application sees the arguments it was started with), records every
 * module resolved from here on, and imports the main module. If that fails — a syntax error
 * typed a moment ago, a module that throws while loading — it prints the error once and
 * waits for the next change to try again, rather than leave the developer with no server and
 * a dead process.
 * @module
 */

import process from 'node:process';
import { enableCompileCache } from 'node:module';
import { appLog } from '../log.ts';
import { mainUrl, startRecording, waitForChangeAfterFailure } from './autoreload.ts';

const main = process.argv[2];
if (main === undefined) {
  process.stderr.write('typhoon autoreload launcher: no main module given\n');
  process.exit(2);
}
process.argv.splice(1, 1);
// Each reload compiles the same modules again: Node's compile cache (in the OS temp folder,
// flushed before every re-execution) makes the second reload on much faster.
enableCompileCache();
startRecording();
try {
  await import(mainUrl(main));
} catch (error) {
  appLog.error(`autoreload: ${main} failed to start; fix it and save to try again`, error);
  waitForChangeAfterFailure(main);
}
