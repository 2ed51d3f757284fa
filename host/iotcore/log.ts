// The stand-in's log as a stream of events: every line the core and its services write, with
// the structured facts of a decision when the writer has them (a connect allowed or refused:
// listener, ALPN, SNI, reason, deciding policy statement). The configured line sink still
// gets every line; subscribers (the console's live log, tests) get the events, so nothing
// has to parse text back into facts.

/** Facts of one decision, e.g. `{ event: "connect", outcome: "refused", clientId, reason }`. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface LogEvent {
  /** epoch ms (the stand-in's clock) */
  time: number;
  line: string;
  fields?: LogFields;
}

/** How the core and its services write: a line, and its facts when they are a decision. */
export type LogWriter = (line: string, fields?: LogFields) => void;

export type LogSubscriber = (event: LogEvent) => void;

export class LogTap {
  private readonly subscribers = new Set<LogSubscriber>();
  private readonly kept: LogEvent[] = [];

  /**
   * @param sink receives every line, as before there were subscribers
   * @param keep how many recent events a new subscriber can read back (`recent()`)
   */
  constructor(private readonly now: () => number, private readonly sink: (line: string) => void, private readonly keep = 500) {}

  readonly write: LogWriter = (line, fields) => {
    this.sink(line);
    const event: LogEvent = fields ? { time: this.now(), line, fields } : { time: this.now(), line };
    this.kept.push(event);
    if (this.kept.length > this.keep) this.kept.splice(0, this.kept.length - this.keep);
    // A subscriber that throws is its own problem: it must not break the writer's path.
    for (const subscriber of this.subscribers) {
      try { subscriber(event); } catch { /* ignored: see above */ }
    }
  };

  /** Calls `subscriber` with every event from now on; returns the unsubscribe function. */
  subscribe(subscriber: LogSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** The most recent events, oldest first. */
  recent(): LogEvent[] {
    return [...this.kept];
  }
}
