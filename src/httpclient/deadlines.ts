/**
 * The request deadlines of one `AsyncHTTPClient`, kept in one list behind one timer instead of
 * a `setTimeout` per request hop. Nearly every fetch finishes long before its deadline (20 s by
 * default), so the per-request work is linking and unlinking a node that is the fetch itself;
 * the timer fires only when the earliest deadline may have passed, or long after the last fetch
 * of a burst (then unreferenced, so it never keeps the process alive on its own).
 *
 * Deadlines stay exact: the timer is armed for the earliest deadline, re-armed whenever an
 * earlier one arrives, and a fetch whose deadline passed is told within the same timer turn
 * a timer of its own would have fired in.
 * Not a public module: nothing here is exported from `src/index.ts`.
 * @module
 */

import { performance } from 'node:perf_hooks';

/**
 * A member of a {@link Deadlines} list: the list links the members through these fields, so a
 * member costs no allocation of its own.
 * @internal
 */
export interface Timed {
  /** `performance.now()` time at which {@link Timed.deadlineReached} is due; -1 when not listed. */
  deadline: number;
  timedPrev: Timed | null;
  timedNext: Timed | null;
  /** The deadline passed; the member is already off the list (it may add itself again). */
  deadlineReached(): void;
}

/**
 * Members ordered by deadline, earliest first, behind one timer.
 * @internal
 */
export class Deadlines {
  #head: Timed | null = null;
  #tail: Timed | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  // The deadline the timer is armed for (it may be earlier than the head's: then it finds
  // nothing due and re-arms).
  #armedFor = Infinity;
  #refed = false;
  readonly #onTimer = (): void => this.#fire();

  /** List `member` to be told at `deadline` (a `performance.now()` time). */
  add(member: Timed, deadline: number): void {
    if (member.deadline >= 0) this.remove(member);
    member.deadline = deadline;
    // Deadlines mostly arrive in order (one timeout for every request): scan from the tail.
    let after = this.#tail;
    while (after !== null && after.deadline > deadline) after = after.timedPrev;
    member.timedPrev = after;
    if (after === null) {
      member.timedNext = this.#head;
      this.#head = member;
    } else {
      member.timedNext = after.timedNext;
      after.timedNext = member;
    }
    if (member.timedNext === null) this.#tail = member;
    else member.timedNext.timedPrev = member;
    if (deadline < this.#armedFor) this.#arm(deadline);
    else if (!this.#refed) {
      this.#refed = true;
      this.#timer!.ref();
    }
  }

  /** Take `member` off the list (nothing when it is not listed). */
  remove(member: Timed): void {
    if (member.deadline < 0) return;
    member.deadline = -1;
    const prev = member.timedPrev;
    const next = member.timedNext;
    if (prev === null) this.#head = next;
    else prev.timedNext = next;
    if (next === null) this.#tail = prev;
    else next.timedPrev = prev;
    member.timedPrev = null;
    member.timedNext = null;
    // The timer stays armed (re-arming per request is what this list saves), but an empty list
    // must not keep the process alive.
    if (this.#head === null && this.#refed) {
      this.#refed = false;
      this.#timer!.unref();
    }
  }

  /** Stop the timer; the members are left as they are (the client is closing). */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Infinity;
    this.#refed = false;
  }

  #arm(deadline: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    // Node's timers count whole milliseconds; `deadlineReached` allows for the rounding.
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(deadline - performance.now())));
    this.#refed = true;
  }

  #fire(): void {
    this.#timer = null;
    this.#armedFor = Infinity;
    this.#refed = false;
    // Due: within the millisecond the timers round to, as a timer of its own would fire.
    const due = performance.now() + 1;
    let member = this.#head;
    while (member !== null && member.deadline <= due) {
      this.remove(member);
      member.deadlineReached();
      member = this.#head;
    }
    if (this.#head !== null && this.#timer === null) this.#arm(this.#head.deadline);
  }
}
