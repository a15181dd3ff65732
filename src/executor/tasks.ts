/**
 * The executor's task bookkeeping: a task's Future with what it needs to run (its message,
 * start slot, timer) and how cancelling it reaches the pool, the FIFO it waits in, and how
 * many tasks piscina is given at once.
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import { Future } from '../concurrent.ts';
import type { TaskMessage } from './worker.ts';

// Tasks piscina may hold per worker while tasks are short: the one running and the next ones,
// already posted, so a worker that finishes a task finds the next one waiting instead of
// sleeping until the main thread has read its result and sent another (measured on trivial
// tasks, 2 workers: depth 1 0.66-0.86x raw piscina, 2 0.77-0.83x, 3 0.89-1.04x, 4 1.12-1.16x,
// 8 1.11-1.21x). A posted task cannot move to another worker that frees up first, so once
// tasks take longer than SHORT_TASK_MS on average (where the round trip this saves is noise)
// each worker gets one task at a time again.
export const PIPELINE_DEPTH = 4;
export const SHORT_TASK_MS = 1;
// A task whose workers keep dying before they reach it fails rather than loop for ever.
export const MAX_REDISPATCH = 3;

/**
 * A task: its Future, and what is needed to run it. It waits in the executor's queue, then
 * holds a start slot while piscina has it (see `SLOT_PENDING` in the worker). Cancelling it
 * acts at once: a queued task leaves the queue, a task piscina holds but has not started is
 * revoked (its worker skips it); a running one has its worker terminated.
 */
export class TaskFuture extends Future<unknown> {
  static {
    // Keep Future's `constructor` getter (native await's fast path, the retrieval flag).
    Reflect.deleteProperty(TaskFuture.prototype, 'constructor');
  }

  message: TaskMessage;
  transferList: Array<ArrayBuffer | MessagePort> | undefined;
  /** The function's or the export's name, for messages (built only when one is needed). */
  name: string;
  /** True for `call()`'s exports, false for `submit()`'s functions. */
  isExport: boolean;
  /** The queue holding it; null once it left the queue (dispatched or cancelled). */
  queue: TaskQueue | null = null;
  /** Its start slot while piscina holds it, else -1. */
  slot = -1;
  /** How many times it was handed to piscina again after its worker died before it started. */
  redispatched = 0;
  /** When it was handed to piscina (performance.now()). */
  postedAt = 0;
  /** True if it was handed to an idle worker (counts as running), false if pipelined behind
   * another task (counts as queued until it starts). */
  direct = false;
  /** Its `taskTimeout` timer while piscina holds it, if the pool has one. */
  timer: NodeJS.Timeout | undefined = undefined;
  #revoke: (task: TaskFuture) => void;

  constructor(
    message: TaskMessage,
    transferList: Array<ArrayBuffer | MessagePort> | undefined,
    name: string,
    isExport: boolean,
    revoke: (task: TaskFuture) => void,
  ) {
    super();
    this.message = message;
    this.transferList = transferList;
    this.name = name;
    this.isExport = isExport;
    this.#revoke = revoke;
  }

  override cancel(message?: string): boolean {
    if (!super.cancel(message)) return false;
    this.#revoke(this);
    return true;
  }

  /** Cancel the Future itself, without revoking (the caller already did). */
  cancelFuture(message: string): void {
    super.cancel(message);
  }
}

export function describeTask(task: TaskFuture): string {
  if (task.isExport) return `export ${task.name}`;
  return task.name ? `task function ${task.name}` : 'the task function';
}

/** FIFO of waiting tasks; a head index keeps `shift()` O(1). */
export class TaskQueue {
  #items: Array<TaskFuture | undefined> = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(task: TaskFuture): void {
    task.queue = this;
    this.#items.push(task);
  }

  /** Put a task back at the head (one that was dispatched but never started). */
  unshift(task: TaskFuture): void {
    task.queue = this;
    if (this.#head > 0) this.#items[--this.#head] = task;
    else this.#items.unshift(task);
  }

  peek(): TaskFuture | undefined {
    return this.#items[this.#head];
  }

  shift(): TaskFuture | undefined {
    if (this.#head === this.#items.length) return undefined;
    const task = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    task.queue = null;
    return task;
  }

  remove(task: TaskFuture): void {
    const index = this.#items.indexOf(task, this.#head);
    if (index !== -1) void this.#items.splice(index, 1);
    task.queue = null;
  }

  drain(): TaskFuture[] {
    const tasks = this.#items.slice(this.#head) as TaskFuture[];
    this.#items = [];
    this.#head = 0;
    for (const task of tasks) task.queue = null;
    return tasks;
  }
}
