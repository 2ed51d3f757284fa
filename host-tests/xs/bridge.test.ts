import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleForXs } from "../../host/runtime/xs/bundle.js";
import { createHostPlatform } from "../../host/runtime/xs/host-platform.js";
import { ManualTime, advanceWith } from "../../host/runtime/manual-time.js";
import { XsRuntime } from "../../host/runtime/xs/runtime.js";

const guest = new URL("./guests/bridge.guest.ts", import.meta.url);

describe("XS bridge (firmware seam inside the real XS engine)", () => {
  let stateDir: string;
  let time: ManualTime;
  let runtime: XsRuntime;
  let lines: string[];
  let reports: { name: string; data: unknown }[];

  beforeEach(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "xs-bridge-"));
    time = new ManualTime(Date.UTC(2025, 5, 1, 12), true);
    lines = [];
    reports = [];
    const platform = createHostPlatform({ time, storageDir: stateDir, random: () => 0.25, log: (line) => lines.push(line) });
    runtime = await XsRuntime.start({
      script: await bundleForXs(guest),
      platform,
      onReport: (name, data) => void reports.push({ name, data }),
    });
  });

  afterEach(async () => {
    await runtime.close().catch(() => {});
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("serves clock, random, storage, crypto and log from the host", async () => {
    const { result } = await runtime.call("seam");
    assert.deepEqual(result, {
      now: Date.UTC(2025, 5, 1, 12),
      isSet: true,
      random: 0.25,
      text: null,
      bytes: [0, 1, 255],
      sha256: createHash("sha256").update("abc").digest("hex"),
      sha1: createHash("sha1").update("abc").digest("hex"),
      hmac: createHmac("sha256", "key").update("The quick brown fox jumps over the lazy dog").digest("hex"),
    });
    await runtime.close();
    assert.ok(lines.includes("a line from XS"), `printed lines: ${JSON.stringify(lines)}`);
  });

  it("keeps storage in the state directory across machines", async () => {
    await runtime.call("seam");
    await runtime.close();
    const again = createHostPlatform({ storageDir: stateDir });
    assert.deepEqual(again.storage.get("bytes"), Uint8Array.of(0, 1, 255));
    assert.equal(again.storage.get("text"), undefined);
  });

  it("provides Moddable's ArrayBuffer.fromString and String.fromArrayBuffer, and no Node globals", async () => {
    const { result } = await runtime.call("builtins");
    assert.deepEqual(result, { length: 6, back: "héllo", node: "undefined" });
  });

  it("fires guest timers in due order on the manual clock, and not a cleared one", async () => {
    await runtime.call("timers", { names: ["b", "a", "gone", "c"], delays: [200, 100, 150, 300], cancel: 2 });
    await advanceWith(time, runtime, 250);
    assert.deepEqual((await runtime.call("fired")).result, ["a", "b"]);
    await advanceWith(time, runtime, 100);
    assert.deepEqual(reports.map((r) => r.data), [
      { name: "a", at: Date.UTC(2025, 5, 1, 12) + 100 },
      { name: "b", at: Date.UTC(2025, 5, 1, 12) + 200 },
      { name: "c", at: Date.UTC(2025, 5, 1, 12) + 300 },
    ]);
  });

  it("carries binary parts both ways unchanged", async () => {
    const { parts } = await runtime.call("echo", {}, [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.of(0xff)]);
    assert.deepEqual(parts.map((p) => Array.from(p)), [[3, 2, 1], [], [0xff]]);
  });

  it("turns an exception thrown inside XS into a rejected call and a rejected close", async () => {
    await assert.rejects(runtime.call("throws"), /thrown on purpose inside XS/);
    await assert.rejects(runtime.close(), /thrown on purpose inside XS/);
  });

  it("fails the run when a timer callback throws inside XS", async () => {
    let failure: Error | undefined;
    await runtime.close();
    runtime = await XsRuntime.start({ script: await bundleForXs(guest), platform: createHostPlatform({ time, storageDir: stateDir, log: () => {} }), onFailure: (e) => (failure = e) });
    await runtime.call("throwsLater");
    await advanceWith(time, runtime, 20);
    assert.match(String(failure), /thrown by a timer inside XS/);
    await assert.rejects(runtime.close(), /thrown by a timer inside XS/);
  });
});
