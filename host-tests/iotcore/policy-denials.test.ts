// Policies govern the connection as AWS does: Connect at CONNECT, Publish on every PUBLISH
// (denied: connection closed), Subscribe per filter (SUBACK 0x80), Receive per delivery.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Issued } from "../../certs/pki.js";
import { closed, connectMtls, controlRequest, endClient, registeredDevice, startCore, subscribeCodes, tempDir } from "./helpers.js";

const ARN = "arn:aws:iot:us-east-1:123456789012";
const THING_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Action: "iot:Connect", Resource: `${ARN}:client/\${iot:Connection.Thing.ThingName}` },
    { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: `${ARN}:topic/\${iot:Connection.Thing.ThingName}/*` },
    { Effect: "Allow", Action: "iot:Subscribe", Resource: `${ARN}:topicfilter/\${iot:Connection.Thing.ThingName}/*` },
    { Effect: "Allow", Action: "iot:Subscribe", Resource: `${ARN}:topicfilter/shared/#` },
    { Effect: "Allow", Action: "iot:Receive", Resource: `${ARN}:topic/shared/public` },
    { Effect: "Deny", Action: "iot:Publish", Resource: `${ARN}:topic/\${iot:Connection.Thing.ThingName}/forbidden` },
  ],
});

describe("IoT policies on the mTLS data plane", function () {
  const dir = tempDir("policy");
  let core: Awaited<ReturnType<typeof startCore>>;
  let thing: Issued, admin: Issued;

  before(async () => {
    core = await startCore(join(dir.path, "state"));
    [thing, admin] = await Promise.all([registeredDevice(core, "sensor-1", [THING_POLICY], "sensor-1"), registeredDevice(core, "admin")]);
  });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("allows Connect only with the client id of the attached thing", async () => {
    const good = await connectMtls(core, thing, { clientId: "sensor-1" });
    assert.equal(good.connack?.returnCode, 0);
    await endClient(good.client);
    const bad = await connectMtls(core, thing, { clientId: "sensor-2" });
    assert.equal(bad.closedBeforeConnack, true);
    await endClient(bad.client);
    assert.ok(core.lines.some((l) => /connect refused: client sensor-2 .*default-deny/.test(l)));
  });

  it("closes the connection on a Publish the policy does not allow, and on an explicit Deny", async () => {
    for (const topic of ["other/topic", "sensor-1/forbidden"]) {
      const { client } = await connectMtls(core, thing, { clientId: "sensor-1" });
      const gone = closed(client);
      client.publish(topic, "x", { qos: 1 });
      assert.equal(await gone, true, `publishing to ${topic} must close the connection`);
      await endClient(client);
    }
    assert.ok(core.lines.some((l) => /publish denied: client sensor-1 topic sensor-1\/forbidden: .*explicit-deny/.test(l)));
  });

  it("answers SUBACK 0x80 for a denied filter and grants the allowed one in the same SUBSCRIBE", async () => {
    const { client } = await connectMtls(core, thing, { clientId: "sensor-1" });
    const codes = await subscribeCodes(client, { "sensor-1/cmd": { qos: 1 }, "admin/#": { qos: 1 } });
    assert.deepEqual(codes, [1, 0x80]);
    assert.equal(client.connected, true);
    await endClient(client);
  });

  it("filters Receive per delivery: a subscribed filter does not deliver topics the policy does not let it receive", async () => {
    const device = await connectMtls(core, thing, { clientId: "sensor-1" });
    const boss = await connectMtls(core, admin, { clientId: "boss" });
    await device.client.subscribeAsync("shared/#", { qos: 1 });
    const received: string[] = [];
    device.client.on("message", (topic) => received.push(topic));
    await boss.client.publishAsync("shared/secret", "no", { qos: 1 });
    await boss.client.publishAsync("shared/public", "yes", { qos: 1 });
    const deadline = Date.now() + 3000;
    while (!received.includes("shared/public") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(received, ["shared/public"]);
    assert.ok(core.lines.some((l) => /receive denied: client sensor-1 topic shared\/secret/.test(l)));
    await endClient(device.client);
    await endClient(boss.client);
  });

  it("refuses a certificate whose status is not ACTIVE, and drops it when it is deactivated", async () => {
    const { client } = await connectMtls(core, admin, { clientId: "boss" });
    const id = core.registry.certificates.list().find((c) => c.certificatePem.replace(/\s/g, "") === admin.certPem.replace(/\s/g, ""))!.certificateId;
    const gone = closed(client);
    const response = await controlRequest(core, "PUT", `/certificates/${id}?newStatus=INACTIVE`);
    assert.equal(response.status, 200);
    assert.equal(await gone, true);
    const again = await connectMtls(core, admin, { clientId: "boss" });
    assert.equal(again.closedBeforeConnack, true);
    await endClient(again.client);
    assert.ok(core.lines.some((l) => /connect refused: client boss .*is INACTIVE/.test(l)));
  });
});
