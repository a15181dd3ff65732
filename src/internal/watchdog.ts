/**
 * The blocking watchdog behind `IOLoop.setBlockingLogThreshold`: notices every stall of this
 * thread's event loop longer than a threshold, and names the JavaScript that caused it.
 *
 * How it works, and why it costs the idle loop nothing measurable:
 *
 * ```
 *  main thread                              watchdog thread (worker_threads)
 *  ───────────                              ────────────────────────────────
 *  unref'd timer every `interval` ms       Atomics.wait (no timer, no event loop) until
 *  (a quarter of the threshold):             the last beat would be `threshold` old:
 *    beat = hrtime() (shared memory) ────►    a newer beat is there: sleep again
 *                                             none: the loop is stuck
 *    (stuck in someone's code)                inspector session (connectToMainThread):
 *                                  ◄──────      Debugger.enable + Debugger.pause
 *    V8 interrupt: paused ─────────────────►   Debugger.paused: read the call frames,
 *                                               post {beat, stack} on a MessagePort,
 *                                  ◄──────      Debugger.resume + Debugger.disable
 *  next beat is late by > threshold:
 *    receiveMessageOnPort → the stack;
 *    onStall({durationMs, stack | reason})
 * ```
 *
 * The main thread only runs a timer that writes a timestamp into shared memory (a clock read
 * and a store per beat, no system call, no message, and unref'd so it never keeps the process
 * alive); nothing runs on it per loop iteration. The watchdog thread sleeps in `Atomics.wait`
 * and wakes about once per threshold on a healthy loop (beats are never notified, so they
 * cost the main thread no system call); the main thread notifies it only to stop. The
 * debugger is enabled only for the instant of a pause. The duration comes from the main
 * thread's own clock (how late the beat was); the stack comes from the watchdog thread, which
 * posts it before resuming the main thread, so it is already waiting on the port when the
 * late beat runs.
 *
 * A stack cannot be had when the loop was blocked outside JavaScript (native code such as a
 * synchronous crypto or file call that returned straight to the loop), when the watchdog
 * thread was still starting, or when `inspector` is unavailable; the report then carries a
 * `reason` instead.
 *
 * Layer 0: imports nothing from typhoon; stalls are reported through the callback.
 * @module
 */

import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';

/** One stall of the loop, as reported to `onStall`. */
export interface StallReport {
  /** How long the loop was blocked, in milliseconds (at least this long). */
  durationMs: number;
  /** Stack of the JavaScript that was running, when it could be taken. */
  stack?: string;
  /** Why there is no stack, when there is none. */
  reason?: string;
}

/** A running watchdog. */
export interface BlockingWatchdog {
  /** Stop watching: clears the heartbeat and ends the watchdog thread. */
  stop(): void;
}

/** What the watchdog thread posts for a stall it sampled. */
export interface StallSample {
  /** The timestamp of the last beat before the stall (identifies the stall). */
  beat: bigint;
  stack?: string;
  reason?: string;
}

/** Data the watchdog thread starts with. */
export interface WatchdogWorkerData {
  /** Int32 slots STOP and READY, then (at byte {@link BEAT_OFFSET}) the BigInt64 beat. */
  shared: SharedArrayBuffer;
  /** The main thread's beat interval, in ms: how soon to look again at a stall already
   * sampled. */
  intervalMs: number;
  thresholdMs: number;
  port: import('node:worker_threads').MessagePort;
  /** Name of the heartbeat function, so a pause that lands in it is recognised as late. */
  heartbeatName: string;
}

/** Int32 slots of the shared buffer. */
export const STOP = 0;
export const READY = 1;
/** Byte offset of the BigInt64 beat: `process.hrtime.bigint()` of the last heartbeat. */
export const BEAT_OFFSET = 8;

const HEARTBEAT_NAME = 'typhoonWatchdogHeartbeat';
const WORKER_FILE = new URL(
  `./watchdog-worker${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/**
 * Start watching the loop of this thread for stalls longer than `thresholdMs`; `onStall` is
 * called (on this thread, once the loop runs again) for each one.
 */
export function startBlockingWatchdog(
  thresholdMs: number,
  onStall: (report: StallReport) => void,
): BlockingWatchdog {
  const buffer = new SharedArrayBuffer(BEAT_OFFSET + BigInt64Array.BYTES_PER_ELEMENT);
  const shared = new Int32Array(buffer, 0, 2);
  const beats = new BigInt64Array(buffer, BEAT_OFFSET, 1);
  Atomics.store(beats, 0, process.hrtime.bigint());
  // Beats often enough that a stall is measured to within a quarter of the threshold, but at
  // most ten times a second: with the watchdog thread's checks, the only cost on an idle loop.
  const interval = Math.min(100, Math.max(1, Math.floor(thresholdMs / 4)));
  const { port1, port2 } = new MessageChannel();
  let workerProblem: string | undefined;
  let worker: Worker | null = null;
  try {
    const workerData: WatchdogWorkerData = {
      shared: buffer,
      intervalMs: interval,
      thresholdMs,
      port: port2,
      heartbeatName: HEARTBEAT_NAME,
    };
    worker = new Worker(WORKER_FILE, { workerData, transferList: [port2] });
    worker.unref();
    worker.on('error', (error: Error) => {
      workerProblem = `the watchdog thread failed: ${error.message}`;
    });
  } catch (error) {
    workerProblem = `the watchdog thread could not start: ${(error as Error).message}`;
  }

  let expected = performance.now() + interval;

  // The slow path of a beat that came late: collect the watchdog thread's sample of this stall
  // (it posts before resuming this thread, so it is already waiting) and report.
  function lateBeat(late: number): void {
    const beat = Atomics.load(beats, 0);
    let sample: StallSample | undefined;
    for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1)) {
      const message = m.message as StallSample;
      if (message.beat === beat) sample = message;
    }
    if (late <= thresholdMs) return;
    const report: StallReport = { durationMs: late };
    if (sample?.stack !== undefined) report.stack = sample.stack;
    else {
      report.reason =
        sample?.reason ??
        workerProblem ??
        (Atomics.load(shared, READY) === 0
          ? 'the watchdog thread was still starting'
          : 'the stall ended before the watchdog thread could sample it');
    }
    onStall(report);
  }

  // All the watchdog ever runs on this thread while the loop is healthy: one clock read, one
  // comparison and one store into shared memory, a few times per threshold. Nothing wakes the
  // watchdog thread (no notify, no message).
  function typhoonWatchdogHeartbeat(): void {
    const now = performance.now();
    if (now - expected > interval) {
      lateBeat(now - expected);
      Atomics.store(beats, 0, process.hrtime.bigint());
      expected = performance.now() + interval;
      return;
    }
    Atomics.store(beats, 0, process.hrtime.bigint());
    expected = now + interval;
  }

  const timer = setInterval(typhoonWatchdogHeartbeat, interval);
  timer.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      Atomics.store(shared, STOP, 1);
      Atomics.notify(shared, STOP);
      port1.close();
      void worker?.terminate();
    },
  };
}
