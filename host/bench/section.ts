// What a benchmark section is: a named group of figures, ours beside a peer's where one
// exists. Sections are separate modules listed in run.ts, so more (e.g. XS meter figures)
// can be added without touching the others.

export interface Figure {
  /** What was measured, e.g. "QoS 1 round trips". */
  name: string;
  unit: string;
  ours: number;
  /** The peer doing the same work in the same run, when there is one. */
  peer?: { name: string; value: number };
  /** True when more is better (rates); false for costs (sizes, computrons). */
  higherIsBetter: boolean;
}

export interface BenchSection {
  name: string;
  /** Rejects only when the section cannot run at all (e.g. mosquitto missing). */
  run(log: (line: string) => void): Promise<Figure[]>;
}

/** Ours divided by the peer's figure, or undefined without a peer. */
export function ratio(f: Figure): number | undefined {
  return f.peer && f.peer.value > 0 ? f.ours / f.peer.value : undefined;
}

/** Runs `work` repeatedly for about `ms` and returns operations per second. */
export function opsPerSecond(work: (iterations: number) => unknown, ms = 1000): number {
  const batch = 1000;
  work(batch); // warm-up
  let done = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    work(batch);
    done += batch;
    elapsed = performance.now() - start;
  }
  return (done / elapsed) * 1000;
}
