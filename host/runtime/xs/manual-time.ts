// Time that moves only when a test says so: a Clock and Timers for the host side of a runtime.

import type { Clock, TimerHandle, Timers } from "../../../firmware/platform/seam.js";

interface Pending {
  due: number;
  order: number;
  callback: () => void;
}

export class ManualTime implements Clock, Timers {
  #now: number;
  #set: boolean;
  #pending = new Set<Pending>();
  #order = 0;

  /** `start` in ms since the epoch; `set` false models a device whose clock is not set yet. */
  constructor(start = Date.UTC(2025, 0, 1), set = true) {
    this.#now = start;
    this.#set = set;
  }

  now(): number {
    return this.#now;
  }

  isSet(): boolean {
    return this.#set;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const pending = { due: this.#now + Math.max(0, ms), order: this.#order++, callback };
    this.#pending.add(pending);
    return pending;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle as Pending);
  }

  /** Moves to the earliest timer due by `until` and fires it; false when there is none. */
  fireNext(until: number): boolean {
    let next: Pending | undefined;
    for (const p of this.#pending) if (p.due <= until && (!next || p.due < next.due || (p.due === next.due && p.order < next.order))) next = p;
    if (!next) return false;
    this.#pending.delete(next);
    this.#now = Math.max(this.#now, next.due);
    next.callback();
    return true;
  }

  /** Moves time forward without firing anything (use `advance` to fire timers on the way). */
  moveTo(time: number): void {
    this.#now = Math.max(this.#now, time);
  }
}

/**
 * Advances `time` by `ms`, firing each timer due on the way and letting the runtime handle
 * what each one caused (including timers set by it) before the next fires.
 */
export async function advance(time: ManualTime, runtime: { idle(): Promise<void> }, ms: number): Promise<void> {
  const until = time.now() + ms;
  await runtime.idle();
  while (time.fireNext(until)) await runtime.idle();
  time.moveTo(until);
}
