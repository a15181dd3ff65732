/**
 * The watchdog thread of `startBlockingWatchdog` (see watchdog.ts for the whole picture):
 * waits for the main thread's heartbeats and, when one is overdue by the threshold, pauses the
 * main thread through an inspector session to read its JavaScript call stack.
 * @module
 */

import { Session } from 'node:inspector';
import { workerData } from 'node:worker_threads';
import { BEAT_OFFSET, READY, STOP, type StallSample, type WatchdogWorkerData } from './watchdog.ts';

const data = workerData as WatchdogWorkerData;
const { thresholdMs, intervalMs, port, heartbeatName } = data;
const shared = new Int32Array(data.shared, 0, 2);
const beats = new BigInt64Array(data.shared, BEAT_OFFSET, 1);

interface CallFrame {
  functionName: string;
  url: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

// Debugger.enable announces every script (scriptParsed); frames name their script by id only.
const scriptUrls = new Map<string, string>();

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
async function sample(beat: bigint): Promise<void> {
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
    const stale = Atomics.load(beats, 0) !== beat || frames[0]?.functionName === heartbeatName;
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

let sampling = false;
let sampledBeat = -1n;

// The watchdog thread's own timer keeps its loop alive (the thread itself is unref'd by the
// main thread, so the process can still exit) and is all that ever wakes it.
const timer = setInterval(() => {
  if (Atomics.load(shared, STOP) !== 0) {
    clearInterval(timer);
    session?.disconnect();
    port.close();
    return;
  }
  if (sampling) return;
  const beat = Atomics.load(beats, 0);
  // One sample per stall: the same last beat means the same stall.
  if (beat === sampledBeat) return;
  if (Number(process.hrtime.bigint() - beat) / 1e6 < thresholdMs) return;
  sampling = true;
  sampledBeat = beat;
  void sample(beat).finally(() => {
    sampling = false;
  });
}, intervalMs);

// No warm-up Debugger.enable here: on the main thread it announces every script, which on a big
// program is itself a stall. The first sample pays for it instead, inside a stall anyway.
Atomics.store(shared, READY, 1);
