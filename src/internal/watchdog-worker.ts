/**
 * The watchdog thread of `startBlockingWatchdog` (see watchdog.ts for the whole picture):
 * waits for the main thread's heartbeats and, when one is overdue by the threshold, pauses the
 * main thread through an inspector session to read its JavaScript call stack.
 * @module
 */

import { Session } from 'node:inspector';
import { workerData } from 'node:worker_threads';
import { BEAT, READY, STOP, type StallSample, type WatchdogWorkerData } from './watchdog.ts';

const { shared, thresholdMs, port, heartbeatName } = workerData as WatchdogWorkerData;

interface CallFrame {
  functionName: string;
  url: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

// Debugger.enable announces every script (scriptParsed); frames name their script by id only.
const scriptUrls = new Map<string, string>();

// Waiting on Atomics.waitAsync alone does not keep a worker's loop alive; this does. The
// worker itself is unref'd by the main thread, so the process can still exit.
const keepAlive = setInterval(() => {}, 2 ** 30);

let session: Session | null = null;
let noInspector: string | undefined;
try {
  session = new Session();
  session.connectToMainThread();
  session.on('Debugger.scriptParsed', (message) => {
    const { scriptId, url } = message.params as { scriptId: string; url: string };
    if (url) scriptUrls.set(scriptId, url);
  });
} catch (error) {
  session = null;
  noInspector = `inspector is unavailable on this thread: ${(error as Error).message}`;
}

function post(method: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session!.post(method, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function formatFrames(frames: CallFrame[]): string {
  return frames
    .map(
      (f) =>
        `    at ${f.functionName || '<anonymous>'} (` +
        `${f.url || scriptUrls.get(f.location.scriptId) || '<unknown>'}:` +
        `${f.location.lineNumber + 1}:${f.location.columnNumber + 1})`,
    )
    .join('\n');
}

const NATIVE =
  'the loop was blocked outside JavaScript (native code or a synchronous system call) and ' +
  'returned to the event loop before a JavaScript stack could be taken';

/** Pause the main thread, read its stack for the stall at `beat`, post it, resume. */
async function sample(beat: number): Promise<void> {
  if (session === null) {
    port.postMessage({ beat, reason: noInspector } satisfies StallSample);
    return;
  }
  const s = session;
  const paused = new Promise<CallFrame[]>((resolve) => {
    s.once('Debugger.paused', (message) => {
      resolve((message.params as { callFrames: CallFrame[] }).callFrames);
    });
  });
  // Both requests run on the main thread in a V8 interrupt, i.e. as soon as it executes
  // JavaScript again: at once when it is stuck in a JS loop, later when it is in native code.
  const enabled = post('Debugger.enable');
  const pauseRequested = post('Debugger.pause');
  try {
    await enabled;
    const frames = await paused;
    const stale = Atomics.load(shared, BEAT) !== beat || frames[0]?.functionName === heartbeatName;
    const report: StallSample = stale
      ? { beat, reason: NATIVE }
      : { beat, stack: formatFrames(frames) };
    // Post before resuming: the main thread's late heartbeat reads it synchronously.
    port.postMessage(report);
    await pauseRequested;
    await post('Debugger.resume');
  } catch (error) {
    port.postMessage({
      beat,
      reason: `the inspector refused: ${(error as Error).message}`,
    } satisfies StallSample);
  } finally {
    await post('Debugger.disable').catch(() => {});
    scriptUrls.clear();
  }
}

async function waitForChange(value: number, timeoutMs?: number): Promise<void> {
  const result = Atomics.waitAsync(shared, BEAT, value, timeoutMs);
  if (result.async) await result.value;
}

async function watch(): Promise<void> {
  if (session !== null) {
    // Warm up while the loop is idle: the first Debugger.enable initialises the main thread's
    // debugger agent and announces every script, which is slow enough to make the first real
    // sample miss a short stall.
    await post('Debugger.enable')
      .then(() => post('Debugger.disable'))
      .catch(() => {});
    scriptUrls.clear();
  }
  Atomics.store(shared, READY, 1);
  let seen = Atomics.load(shared, BEAT);
  while (Atomics.load(shared, STOP) === 0) {
    await waitForChange(seen, thresholdMs);
    const now = Atomics.load(shared, BEAT);
    if (now !== seen) {
      seen = now;
      continue;
    }
    if (Atomics.load(shared, STOP) !== 0) break;
    await sample(seen);
    // One sample per stall: wait for the loop to beat again before watching anew.
    await waitForChange(seen);
    seen = Atomics.load(shared, BEAT);
  }
  clearInterval(keepAlive);
  session?.disconnect();
  port.close();
}

void watch();
