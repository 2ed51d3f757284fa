// Minified size of each build the manifests compose: one per connection mode (each with the
// features its manifest names) and the five-mode development build. Deterministic, so
// host-tests/size/firmware-size.test.ts holds the same figures to their budgets.

import { compositionSize, DEVELOPMENT_MANIFEST, jobsManifest, modeManifest } from "../../runtime/composition.js";
import { MODES } from "../../cli/modes.js";
import type { BenchSection, Figure } from "../section.js";

/** The size targets: every single-mode build, and tighter ones for the certificate modes. */
export const BUILD_SIZE_TARGETS: Record<string, number> = {
  mtls: 24_576,
  "mtls-alpn": 24_576,
  "custom-auth": 30_720,
  "wss-custom-auth": 30_720,
  "wss-sigv4": 30_720,
  "https-mtls": 30_720,
  "https-mtls-alpn": 30_720,
  "https-sigv4": 30_720,
  "https-custom-auth": 30_720,
};

/** Each mode's build size and the development build's, in bytes. */
export async function buildSizes(): Promise<{ modes: Record<string, number>; development: number }> {
  const modes: Record<string, number> = {};
  for (const mode of MODES) modes[mode] = await compositionSize(modeManifest(mode));
  return { modes, development: await compositionSize(DEVELOPMENT_MANIFEST) };
}

export const buildSizeSection: BenchSection = {
  name: "Firmware builds, minified (manifests/modes/<mode>.json and manifest.json)",
  async run() {
    const sizes = await buildSizes();
    const rows: Figure[] = MODES.map((mode) => ({ name: `build ${mode} (target <= ${BUILD_SIZE_TARGETS[mode]!.toLocaleString("en-US")})`, unit: "bytes", ours: sizes.modes[mode]!, higherIsBetter: false }));
    rows.push({ name: "development build, all five modes (reported)", unit: "bytes", ours: sizes.development, higherIsBetter: false });
    // What the optional jobs and OTA features add (budgets in host-tests/size/firmware-size.test.ts).
    const jobs = await compositionSize(jobsManifest("mtls"));
    rows.push({ name: "jobs feature added to the mtls build (manifests/jobs/mtls.json)", unit: "bytes", ours: jobs - sizes.modes.mtls!, higherIsBetter: false });
    rows.push({ name: "OTA added to mtls + jobs (manifests/ota/mtls.json)", unit: "bytes", ours: await compositionSize(jobsManifest("mtls", true)) - jobs, higherIsBetter: false });
    return rows;
  },
};
