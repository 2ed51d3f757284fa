// The log tap: every line goes to the configured sink, and as an event (with a decision's facts)
// to subscribers, which the console's live log and other clients read.
import assert from "node:assert/strict";
import { LogTap, type LogEvent } from "../../host/iotcore/log.js";

describe("log tap", () => {
  it("writes each line to the sink and hands subscribers the event with its facts and time", () => {
    const lines: string[] = [];
    const tap = new LogTap(() => 1234, (line) => lines.push(line));
    const events: LogEvent[] = [];
    tap.subscribe((event) => events.push(event));
    tap.write("connect refused: client a via 8883: no", { event: "connect", outcome: "refused", clientId: "a" });
    tap.write("registry: CA x registered");
    assert.deepEqual(lines, ["connect refused: client a via 8883: no", "registry: CA x registered"]);
    assert.deepEqual(events, [
      { time: 1234, line: "connect refused: client a via 8883: no", fields: { event: "connect", outcome: "refused", clientId: "a" } },
      { time: 1234, line: "registry: CA x registered" },
    ]);
  });

  it("keeps the most recent events for a subscriber that arrives later, oldest first", () => {
    const tap = new LogTap(() => 0, () => undefined, 2);
    for (const n of [1, 2, 3]) tap.write(`line ${n}`);
    assert.deepEqual(tap.recent().map((e) => e.line), ["line 2", "line 3"]);
  });

  it("stops calling a subscriber once it unsubscribes, and a throwing subscriber does not stop the others or the sink", () => {
    const lines: string[] = [];
    const tap = new LogTap(() => 0, (line) => lines.push(line));
    const seen: string[] = [];
    tap.subscribe(() => { throw new Error("subscriber bug"); });
    const stop = tap.subscribe((event) => seen.push(event.line));
    tap.write("first");
    stop();
    tap.write("second");
    assert.deepEqual(seen, ["first"]);
    assert.deepEqual(lines, ["first", "second"]);
  });
});
