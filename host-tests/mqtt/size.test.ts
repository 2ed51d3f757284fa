// docs/performance-targets.md: the minified MQTT client, QoS 1 included, is no larger than Moddable's QoS 0 one
// (9,021 bytes). It is held to a ceiling just above today's 8,069 bytes, so that what a smaller
// design took out does not creep back.
import assert from "node:assert/strict";
import { build } from "esbuild";

const TARGET = 9021;
const CEILING = 8100;

describe("MQTT client size", () => {
  it(`fits in ${CEILING} bytes minified with codec, limits and QoS 1 session (target ${TARGET})`, async () => {
    const out = await build({
      entryPoints: ["firmware/mqtt/client.ts"], bundle: true, minify: true, format: "esm",
      target: "es2022", write: false, logLevel: "silent",
    });
    const size = out.outputFiles[0].contents.length;
    assert.ok(size <= CEILING, `minified client is ${size} bytes`);
  });
});
