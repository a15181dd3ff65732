/**
 * The watchdog thread of `startBlockingWatchdog` (see watchdog.ts for the whole picture):
 * waits for the main thread's heartbeats and, when one is overdue by the threshold, pauses the
 * main thread through an inspector session to read its JavaScript call stack.
 * @module
 */

import process from 'node:process';
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
  // Between samples this thread sleeps in Atomics.wait and has no handle of its own; the
  // inspector's replies do not keep an event loop alive, so a timer does for the sample.
  const keepAlive = setInterval(() => {}, 60_000);
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
    clearInterval(keepAlive);
  }
}

/**
 * The watchdog thread's whole life: sleep in `Atomics.wait` until the last beat would be
 * `threshold` old, look, and sample the main thread when it is stuck. No timer and no event
 * loop turn while nothing is wrong: the main thread never wakes this thread for a beat (that
 * would cost it a system call per beat), so on an idle or busy healthy loop this thread wakes
 * about once per threshold (beats come every quarter of it, so a fresh one is always there).
 * The main thread wakes it only to stop (STOP set, then `Atomics.notify`). The event loop of
 * this thread runs only inside a sample, where the inspector's replies arrive.
 */
async function watch(): Promise<void> {
  let sampledBeat = -1n;
  for (;;) {
    const beat = Atomics.load(beats, 0);
    const ageMs = Number(process.hrtime.bigint() - beat) / 1e6;
    let waitMs: number;
    if (beat === sampledBeat) {
      // Still the stall already sampled (one sample per stall): look again a beat later.
      waitMs = intervalMs;
    } else if (ageMs >= thresholdMs) {
      sampledBeat = beat;
      await sample(beat);
      continue;
    } else {
      waitMs = thresholdMs - ageMs;
    }
    // 'ok' (woken by stop) or 'not-equal' (stopped already) end the watch; 'timed-out' loops.
    if (Atomics.wait(shared, STOP, 0, Math.max(1, waitMs)) !== 'timed-out') break;
  }
  session?.disconnect();
  port.close();
}

// No warm-up Debugger.enable here: on the main thread it announces every script, which on a big
// program is itself a stall. The first sample pays for it instead, inside a stall anyway.
Atomics.store(shared, READY, 1);
void watch();
