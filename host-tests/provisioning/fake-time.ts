// A fake clock and timers for driving firmware code through time without waiting.

import type { Clock, Timers } from "../../firmware/platform/seam.js";

export class FakeTime implements Clock, Timers {
  #now: number;
  #set: boolean;
  #nextId = 1;
  #timers = new Map<number, { at: number; callback: () => void }>();
  readonly lines: string[] = [];
  readonly log = (line: string) => { this.lines.push(line); };

  constructor(start = 1_700_000_000_000, set = true) {
    this.#now = start;
    this.#set = set;
  }

  now(): number {
    return this.#now;
  }

  isSet(): boolean {
    return this.#set;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Runs every timer due within `ms`, in time order, moving the clock as it goes. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId = 0;
      let next: { at: number; callback: () => void } | undefined;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= end && (!next || timer.at < next.at)) { next = timer; nextId = id; }
      }
      if (!next) break;
      this.#timers.delete(nextId);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
    }
    this.#now = end;
  }
}
