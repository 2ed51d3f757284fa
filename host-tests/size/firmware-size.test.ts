// TARGETS.md: "The whole firmware bundle (all five modes) minified <= 30 KB". The MQTT client's
// own budget (9,021 bytes) is pinned in host-tests/mqtt/size.test.ts.
import assert from "node:assert/strict";
import { build } from "esbuild";

/** Minified bytes of everything reachable from firmware/boot/boot.ts, as `esbuild --bundle --minify --format=esm` makes it. */
async function firmwareBytes(): Promise<number> {
  const out = await build({
    entryPoints: ["firmware/boot/boot.ts"], bundle: true, minify: true, format: "esm",
    write: false, logLevel: "silent",
  });
  return out.outputFiles[0]!.contents.length;
}

// Where the firmware stands today (46,187 bytes): lower it as modules shrink, never raise it.
const CEILING = 46_250;
const TARGET = 30_000;

describe("firmware size", () => {
  it(`the whole firmware (all five modes) stays within ${CEILING} bytes minified`, async () => {
    const size = await firmwareBytes();
    assert.ok(size <= CEILING, `minified firmware is ${size} bytes`);
  });

  // Pending until the firmware meets TARGETS.md; see the ceiling above for where it stands.
  it.skip(`the whole firmware (all five modes) fits in ${TARGET} bytes minified`, async () => {
    const size = await firmwareBytes();
    assert.ok(size <= TARGET, `minified firmware is ${size} bytes`);
  });
});
