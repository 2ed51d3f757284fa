import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { main } from "../../certs/cli.js";
import { layout } from "../../certs/commands.js";
import type { IotCore } from "../../host/iotcore/index.js";
import { closed, connectMtls, endClient, startCore, tempDir, useCliCredentials } from "../iotcore/helpers.js";

describe("certs CLI against the local IoT Core stand-in", () => {
  const state = tempDir("certs-register-state");
  const out = tempDir("certs-register-out");
  let core: IotCore & { lines: string[] };

  async function cli(...argv: string[]): Promise<string[]> {
    const lines: string[] = [];
    const errors: string[] = [];
    const code = await main([...argv, "--out-dir", out.path], (l) => lines.push(l), (l) => errors.push(l));
    assert.equal(code, 0, errors.join("\n"));
    return lines;
  }

  let restoreEnvironment = () => {};
  before(async () => {
    core = await startCore(state.path);
    restoreEnvironment = useCliCredentials(core);
  });

  after(async () => {
    restoreEnvironment();
    await core?.close();
    state.remove();
    out.remove();
  });

  it("registers a CLI-made CA with its JITP template, and a CLI-made device is provisioned on first connect", async () => {
    const plane = ["--endpoint-url", core.controlUrl, "--region", core.region];
    await cli("ca", "--country", "US");
    await cli("template", "--account-id", core.accountId, "--region", core.region);
    const verification = await cli("verification", ...plane);
    assert.ok(verification.some((l) => /^registration code \S+/.test(l)), "the code came from the control plane");
    const registered = await cli("register", ...plane);
    assert.ok(registered.some((l) => l.includes("aws iot register-ca-certificate --ca-certificate file://") && l.includes("--set-as-active --allow-auto-registration --registration-config file://") && l.includes(`--endpoint-url ${core.controlUrl}`)));
    assert.ok(registered.some((l) => /^registered CA [0-9a-f]{64} with the JITP template$/.test(l)));

    await cli("device", "--thing-name", "jitp-thing-1", "--country", "US");
    const files = layout(out.path).device("jitp-thing-1");
    const device = { certPem: readFileSync(files.certPem, "utf8"), key: { privateKeyPem: readFileSync(files.keyPem, "utf8") } };
    const chainPem = readFileSync(files.chainPem, "utf8");

    const first = await connectMtls(core, device, { chainPem, clientId: "jitp-thing-1" });
    assert.ok(first.closedBeforeConnack || first.connack?.returnCode !== 0, "the first connect of a fresh certificate is dropped");
    await endClient(first.client);
    await core.provisioningIdle();

    const second = await connectMtls(core, device, { chainPem, clientId: "jitp-thing-1" });
    try {
      assert.equal(second.closedBeforeConnack, false);
      assert.equal(second.connack?.returnCode ?? 0, 0);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no PUBACK")), 5000);
        second.client.publish("jitp-thing-1/telemetry", "{}", { qos: 1 }, (e) => { clearTimeout(timer); if (e) reject(e); else resolve(); });
      });
      assert.equal(core.registry.getThing("jitp-thing-1").thingName, "jitp-thing-1");
      // the template's least-privilege policy: another thing's topic is refused (AWS closes the connection)
      second.client.publish("other-thing/telemetry", "{}", { qos: 1 });
      assert.equal(await closed(second.client, 5000), true, "publishing outside <thing>/ is denied");
    } finally {
      await endClient(second.client);
    }
  });
});
