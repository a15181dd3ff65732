/**
 * Blocking watchdog. PLACEHOLDER: the thread-based watchdog lands with issue 3.
 * @module
 */

/** One stall of the loop, as reported to `onStall`. */
export interface StallReport {
  /** How long the loop was blocked, in milliseconds. */
  durationMs: number;
  /** Stack of the JavaScript that was running, when it could be taken. */
  stack?: string;
  /** Why there is no stack, when there is none. */
  reason?: string;
}

/** A running watchdog. */
export interface BlockingWatchdog {
  stop(): void;
}

/** Start watching the loop of this thread for stalls longer than `thresholdMs`. */
export function startBlockingWatchdog(
  thresholdMs: number,
  onStall: (report: StallReport) => void,
): BlockingWatchdog {
  let last = performance.now();
  const interval = Math.max(1, Math.floor(thresholdMs / 2));
  const timer = setInterval(() => {
    const now = performance.now();
    const stall = now - last - interval;
    last = now;
    if (stall > thresholdMs) onStall({ durationMs: stall, reason: 'stack sampling not available' });
  }, interval);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
