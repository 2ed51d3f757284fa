// The Node platform's timers against its clock: a device's wait (its backoff, its CONNECT
// spacing) is never shorter by its own clock than asked, although Node may fire a timer a
// millisecond early by Date.now() (its event loop counts from a cached, rounded time).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNodePlatform } from "../../host/runtime/node/platform.js";

describe("the Node platform's timers", () => {
  const dir = mkdtempSync(join(tmpdir(), "node-timers-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const platform = createNodePlatform({ storageDir: dir, log: () => undefined });

  it("never fire before the device's clock says the delay has passed", async () => {
    const short: number[] = [];
    for (let i = 0; i < 40; i++) {
      const setAt = platform.clock.now();
      const elapsed = await new Promise<number>((done) => platform.timers.setTimeout(() => done(platform.clock.now() - setAt), 7));
      if (elapsed < 7) short.push(elapsed);
    }
    assert.deepEqual(short, []);
  });

  it("can be cancelled", async () => {
    let fired = false;
    const handle = platform.timers.setTimeout(() => (fired = true), 5);
    platform.timers.clearTimeout(handle);
    await new Promise((wake) => setTimeout(wake, 30));
    assert.equal(fired, false);
  });

  it("take a handle that was never set or has fired, as Moddable's Timer.clear does", async () => {
    assert.doesNotThrow(() => platform.timers.clearTimeout(undefined));
    const handle = await new Promise<unknown>((done) => {
      const h = platform.timers.setTimeout(() => setImmediate(() => done(h)), 1);
    });
    assert.doesNotThrow(() => platform.timers.clearTimeout(handle));
  });
});
