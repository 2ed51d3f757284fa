import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "esbuild";
import { compositionPlugin, DEVELOPMENT_MANIFEST, FEATURES_MODULE, FIRMWARE, modeManifest, readComposition, type Composition } from "../../host/runtime/composition.js";

const MQTT_MODES = ["mtls", "mtls-alpn", "custom-auth", "wss-custom-auth", "wss-sigv4"];
const MODES = [...MQTT_MODES, "https-mtls", "https-mtls-alpn", "https-sigv4", "https-custom-auth"];
// Listed for their types only (nothing of them is left in a bundle), or for the Moddable binding.
const NOT_REACHED_FROM_BOOT = /^(platform\/seam|platform\/tls-alerts|platform\/moddable\/.*)$/;

/** The firmware modules (by specifier) esbuild reaches from boot under `composition`. */
async function reached(composition: Composition): Promise<Set<string>> {
  const result = await build({
    stdin: { contents: `export { boot } from "./boot/boot.ts";\nexport { features } from "${FEATURES_MODULE}";\n`, resolveDir: FIRMWARE, loader: "ts" },
    bundle: true, write: false, format: "esm", platform: "neutral", metafile: true, logLevel: "silent",
    plugins: [compositionPlugin(composition)],
  });
  const files = Object.keys(result.metafile.inputs).filter((f) => f.startsWith("firmware/"));
  return new Set(files.map((f) => f.replace(/^firmware\//, "").replace(/\.ts$/, "")));
}

/** The specifiers the manifest lists (folders expanded), each with the file it builds. */
function listed(composition: Composition): Map<string, string> {
  const out = new Map<string, string>();
  for (const [specifier, file] of composition.modules) {
    if (!specifier.endsWith("/*")) {
      out.set(specifier, relative(FIRMWARE, file));
      continue;
    }
    const dir = file.slice(0, -1);
    for (const name of readdirSync(dir)) if (name.endsWith(".ts")) out.set(specifier.slice(0, -1) + name.slice(0, -3), relative(FIRMWARE, join(dir, name.slice(0, -3))));
  }
  return out;
}

describe("composition by manifest", () => {
  for (const mode of MODES) {
    it(`manifests/modes/${mode}.json lists exactly the firmware modules its build reaches, and no other mode's`, async () => {
      const composition = readComposition(modeManifest(mode));
      const modules = listed(composition);
      const used = await reached(composition);
      // What the bundle reaches is built from the mode's module, under the specifier connection/mode.
      assert.equal(modules.get("connection/mode"), `connection/${mode}`);
      const unused = [...modules.keys()].filter((s) => !used.has(modules.get(s)!) && !NOT_REACHED_FROM_BOOT.test(s));
      assert.deepEqual(unused, [], `listed in the ${mode} manifest but not reached`);
      const others = MODES.filter((m) => m !== mode).map((m) => `connection/${m}`);
      assert.deepEqual([...used].filter((f) => others.includes(f)), []);
    });
  }

  it("the development manifest carries every mode under connection/mode", async () => {
    const composition = readComposition(DEVELOPMENT_MANIFEST);
    const used = await reached(composition);
    for (const mode of MQTT_MODES) assert.ok(used.has(`connection/${mode}`), `${mode} is not in the development build`);
    assert.equal(composition.config.mode, "mtls-alpn");
  });

  it("an HTTPS mode's build carries its own session and none of MQTT (client, provisioning loop, MQTT telemetry)", async () => {
    for (const mode of ["https-mtls", "https-mtls-alpn", "https-sigv4", "https-custom-auth"]) {
      const composition = readComposition(modeManifest(mode));
      assert.equal(relative(FIRMWARE, composition.modules.get("connection/session")!), "https/session");
      const used = await reached(composition);
      assert.deepEqual([...used].filter((f) => /^(mqtt\/|provisioning\/loop|telemetry\/telemetry|connection\/session)/.test(f)), [], mode);
    }
  });

  it("refuses to bundle a firmware module the manifest does not list, naming it", async () => {
    const composition = readComposition(modeManifest("mtls"));
    composition.modules.delete("connection/stream");
    await assert.rejects(reached(composition), /imports connection\/stream, which manifests\/modes\/mtls\.json does not list/);
  });

  it("serves the features the manifest names (config.features) from their modules", async () => {
    const composition = readComposition(modeManifest("mtls"));
    composition.features.push("demo");
    await assert.rejects(reached(composition), /names feature demo in config.features but maps no module features\/demo/);
  });
});
