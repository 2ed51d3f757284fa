// The stand-in's log as a stream of events: every line the core and its services write, with
// the structured facts of a decision when the writer has them (a connect allowed or refused:
// listener, ALPN, SNI, reason, deciding policy statement). The configured line sink still
// gets every line; subscribers (the console's live log, tests) get the events, so nothing
// has to parse text back into facts.
//
// Many lines carry values a client chose (client id, username, topic, SNI, thing and
// authorizer names, user agents). A client must not be able to start a line ("\n... connect
// allowed ...") or fake a field ("x via 8883: ... allowed by"), so every such value goes
// through `logValue`, and the tap escapes any control character that still reaches it.
// `--log-format json` writes one JSON object per line for machines (`formatLogLine`).

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
   * @param sink receives every line, as before there were subscribers, and its facts when it has them
   * @param keep how many recent events a new subscriber can read back (`recent()`)
   */
  constructor(private readonly now: () => number, private readonly sink: (line: string, fields?: LogFields) => void, private readonly keep = 500) {}

  readonly write: LogWriter = (text, fields) => {
    const line = oneLine(text);
    this.sink(line, fields);
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

// Printable ASCII except space, quote and backslash: shown as is. Anything else is quoted.
const PLAIN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Control characters, line and paragraph separators, and characters that change text direction. */
function unsafe(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || code === 0x200e || code === 0x200f
    || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

function escapeUnsafe(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += unsafe(code) ? `\\u${code.toString(16).padStart(4, "0")}` : c;
  }
  return out;
}

/**
 * A client-provided value as it may appear in a log line: as is when it is printable ASCII
 * without spaces, quotes or backslashes; otherwise a JSON string literal with every control,
 * line-separator and direction-changing character escaped. `undefined` shows as `-`.
 */
export function logValue(value: string | undefined | null): string {
  if (value === undefined || value === null) return "-";
  if (PLAIN.test(value)) return value;
  return escapeUnsafe(JSON.stringify(value));
}

/** The line with every control character escaped: nothing a line carries can start another. */
export function oneLine(line: string): string {
  return escapeUnsafe(line);
}

export type LogFormat = "text" | "json";

/**
 * Formats a line for the chosen output: text is `<ISO time> <line>`; json is
 * `{"time","event","message","fields"}` where `event` is the line's fixed prefix before its
 * first colon (e.g. "connect refused", "publish denied", "tls refused"), which the stand-in's
 * own code writes and no client value reaches, and `fields` the decision's facts when the
 * writer gave them (client id, listener, SNI, reason, deciding statement...).
 */
export function formatLogLine(line: string, format: LogFormat, time: Date, fields?: LogFields): string {
  const safe = oneLine(line);
  if (format === "text") return `${time.toISOString()} ${safe}`;
  const colon = safe.indexOf(":");
  const prefix = colon > 0 ? safe.slice(0, colon) : "";
  const event = /^[a-z][a-z ]*$/.test(prefix) ? prefix : typeof fields?.event === "string" ? fields.event : "log";
  return JSON.stringify({ time: time.toISOString(), event, message: safe, ...(fields ? { fields } : {}) });
}
