// docs/performance-targets.md: the minified MQTT client, QoS 1 included, is no larger than Moddable's QoS 0 one.
import assert from "node:assert/strict";
import { build } from "esbuild";

describe("MQTT client size", () => {
  it("fits in 9,021 bytes minified with codec, limits and QoS 1 session", async () => {
    const out = await build({
      entryPoints: ["firmware/mqtt/client.ts"], bundle: true, minify: true, format: "esm",
      target: "es2022", write: false, logLevel: "silent",
    });
    const size = out.outputFiles[0].contents.length;
    assert.ok(size <= 9021, `minified client is ${size} bytes`);
  });
});
