import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { CreateTopicRuleCommand, DescribeCertificateCommand, GetTopicRuleCommand, IoTClient, ListAttachedPoliciesCommand } from "@aws-sdk/client-iot";
import type { Issued } from "../../certs/pki.js";
import type { IotCore } from "../../host/iotcore/index.js";
import { connectMtls, devicePki, endClient, iotClient, startCore, tempDir } from "../iotcore/helpers.js";

// The JITR walkthrough (docs/aws-iot-core.md, "The walkthroughs the tests replay"): a topic rule on
// the registered event runs a function that activates the certificate.
describe("JITR activated by a topic rule and a function", () => {
  const dir = tempDir("jitr-rule");
  let core: IotCore & { lines: string[] };
  let iot: IoTClient;
  let ca: Issued;
  let device: Issued;
  let caId: string;

  before(async () => {
    mkdirSync(join(dir.path, "functions"), { recursive: true });
    copyFileSync(new URL("./functions/jitr_activate.mjs", import.meta.url), join(dir.path, "functions", "jitr_activate.mjs"));
    core = await startCore(dir.path, { provisioningDelayMs: 50, functionTimeoutMs: 10_000 });
    iot = iotClient(core);
    ({ ca, device } = await devicePki({ commonName: "jitr-device-001" }));
    caId = core.registry.registerCa({ caCertificatePem: ca.certPem, certificateMode: "SNI_ONLY", setAsActive: true, allowAutoRegistration: true }).certificateId;
  });
  after(async () => {
    iot.destroy();
    await core.close();
    dir.remove();
  });

  it("creates the rule with the walkthrough's SQL and the function action through @aws-sdk/client-iot", async () => {
    await iot.send(new CreateTopicRuleCommand({
      ruleName: "jitr_activation",
      topicRulePayload: {
        sql: `SELECT *\nFROM '$aws/events/certificates/registered/${caId}'\nWHERE certificateStatus = "PENDING_ACTIVATION"`,
        actions: [{ lambda: { functionArn: core.lambda.functions.arn("jitr_activate") } }],
        awsIotSqlVersion: "2016-03-23",
      },
    }));
    const rule = await iot.send(new GetTopicRuleCommand({ ruleName: "jitr_activation" }));
    assert.equal(rule.rule?.actions?.[0]?.lambda?.functionArn, `arn:aws:lambda:${core.region}:${core.accountId}:function:jitr_activate`);
  });

  it("drops the first connect, runs the function from the registered event, and accepts the next connect", async () => {
    const first = await connectMtls(core, device, { chainPem: device.certPem + ca.certPem, clientId: "jitr-device-001" });
    await endClient(first.client);
    assert.equal(first.closedBeforeConnack, true);
    await core.provisioningIdle();
    await core.iot.rules.settled();
    const certificateId = core.registry.certificates.list()[0]!.certificateId;
    const described = await iot.send(new DescribeCertificateCommand({ certificateId }));
    assert.equal(described.certificateDescription?.status, "ACTIVE", core.lines.join("\n"));
    const attached = await iot.send(new ListAttachedPoliciesCommand({ target: described.certificateDescription!.certificateArn! }));
    assert.deepEqual(attached.policies?.map((p) => p.policyName), [`${certificateId}-policy`]);
    const second = await connectMtls(core, device, { chainPem: device.certPem + ca.certPem, clientId: "jitr-device-001" });
    await endClient(second.client);
    assert.equal(second.closedBeforeConnack, false, core.lines.join("\n"));
    assert.ok(core.lines.some((l) => l.includes("rule jitr_activation: $aws/events/certificates/registered/")));
  });
});
