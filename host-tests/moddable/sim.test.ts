// The firmware in Moddable's own simulator (mcsim), every mode and provisioning path npm start
// supports. Needs a built Moddable SDK ($MODDABLE) and takes about ten seconds per run, so it runs
// only when asked: MODDABLE_SIM=1 npx mocha host-tests/moddable/sim.test.ts
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { checkSdk } from "../../host/cli/moddable.js";

const root = join(import.meta.dirname, "../..");
const RUNS: [mode: string, provisioning: string][] = [
  ["mtls", "jitp"], ["mtls", "jitr"], ["mtls", "none"],
  ["mtls-alpn", "jitp"], ["mtls-alpn", "jitr"], ["mtls-alpn", "none"],
  ["custom-auth", "none"], ["wss-custom-auth", "none"], ["wss-sigv4", "none"],
  ["mtls", "fleet"],
];

describe("the firmware in Moddable's simulator against the local stand-in", function () {
  this.timeout(200_000);
  before(function () {
    if (process.env.MODDABLE_SIM !== "1" || !checkSdk().ok) this.skip();
  });

  for (const [mode, provisioning] of RUNS) {
    it(`${mode} with provisioning ${provisioning}: a fresh device reaches three acknowledged telemetry messages`, () => {
      // The command stops itself after --timeout; the outer bound only guards against a hang.
      const result = spawnSync(process.execPath, ["--import", "tsx", join(root, "host/cli/moddable.ts"), "sim", "--mode", mode, "--provisioning", provisioning, "--messages", "3", "--timeout", "120"], { cwd: root, encoding: "utf8", timeout: 180_000 });
      const out = result.stdout;
      assert.equal(result.status, 0, out.slice(-3000));
      assert.match(out, /sim: 3 telemetry messages acknowledged/);
      if (provisioning === "none") assert.match(out, /connect: accepted on attempt 1 /);
      else if (provisioning === "fleet") {
        // The claim's session provisions; the device's own certificate then connects as the new thing.
        assert.match(out, /fleet: registered as thing device-[\s\S]*fleet: restart: [\s\S]*fleet: first session with the device's own certificate/);
      } else {
        // The first connect is dropped while the certificate is provisioned; the next one is accepted.
        assert.match(out, /connect: attempt 1 ended \(mqtt-closed-before-connack\): still provisioning/);
        assert.match(out, /connect: accepted on attempt (?!1 )\d+ /);
      }
      if (mode === "wss-sigv4") assert.match(out, /cognito: GetId[\s\S]*cognito: temporary credentials valid until/);
    });
  }

  it("--ota: a signed 1 MiB image through a job and a stream, checked with Moddable's SHA-256 and ECDSA, booted, and the job SUCCEEDED with the new version", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", join(root, "host/cli/moddable.ts"), "sim", "--mode", "mtls", "--ota", "--messages", "3", "--timeout", "400"], { cwd: root, encoding: "utf8", timeout: 480_000 });
    const out = result.stdout;
    assert.equal(result.status, 0, out.slice(-3000));
    assert.match(out, /ota: image [0-9a-f]{64} \(1048576 bytes\) verified and activated; restarting into it/);
    assert.match(out, /restart: the firmware boots again in place[\s\S]*ota: new image booted \(firmware 0\.2\.0-sim, replacing 0\.1\.0\)[\s\S]*ota: image confirmed: firmware 0\.2\.0-sim/);
    assert.match(out, /operator: DescribeJobExecution sim-ota-\w+: SUCCEEDED \{"firmware":"0\.2\.0-sim"/);
  }).timeout(500_000);
});
