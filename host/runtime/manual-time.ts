// Time that moves only when a test says so: one Clock and Timers for every host-side user
// (unit tests of the firmware core, the Node platform, the XS runtime's host side).

import type { Clock, TimerHandle, Timers } from "../../firmware/platform/seam.js";

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

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#pending.size;
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

  /** Moves time forward without firing anything. */
  moveTo(time: number): void {
    this.#now = Math.max(this.#now, time);
  }

  /** Moves `ms` forward, firing every timer due on the way (timers they set included), in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    while (this.fireNext(until));
    this.moveTo(until);
  }
}

/**
 * Advances `time` by `ms` for code running elsewhere (an XS worker): fires each timer due on
 * the way and lets the runtime handle what it caused before the next one fires.
 */
export async function advanceWith(time: ManualTime, runtime: { idle(): Promise<void> }, ms: number): Promise<void> {
  const until = time.now() + ms;
  await runtime.idle();
  while (time.fireNext(until)) await runtime.idle();
  time.moveTo(until);
}
