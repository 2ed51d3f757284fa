// The provisioning template engine JITP and fleet provisioning share, with what fleet templates
// use beyond JITP: parameters from RegisterThing, Conditions and Fn::If, Fn::FindInMap,
// AWS::NoValue, thing groups, DeviceConfiguration; and applying a plan to a thing that exists
// (OverrideSettings).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyPlan } from "../../host/iotcore/provisioning/apply.js";
import { evaluateFleetTemplate, type ProvisioningPlan } from "../../host/iotcore/provisioning/template.js";
import { AwsError } from "../../host/iotcore/registry/errors.js";
import { Registry } from "../../host/iotcore/registry/registry.js";
import { issueCertificate, createRootCa } from "../../certs/pki.js";

const body = JSON.stringify({
  Parameters: {
    SerialNumber: { Type: "String" },
    Region: { Type: "String", Default: "eu" },
    Beta: { Type: "String", Default: "no" },
    "AWS::IoT::Certificate::Id": { Type: "String" },
  },
  Mappings: { Sites: { eu: { Url: "https://eu.example" }, us: { Url: "https://us.example" } } },
  Conditions: { IsBeta: { "Fn::Equals": [{ Ref: "Beta" }, "yes"] }, IsStable: { "Fn::Not": [{ Condition: "IsBeta" }] } },
  Resources: {
    thing: {
      Type: "AWS::IoT::Thing",
      OverrideSettings: { AttributePayload: "MERGE" },
      Properties: {
        ThingName: { "Fn::Join": ["-", ["unit", { Ref: "SerialNumber" }]] },
        AttributePayload: { serial: { Ref: "SerialNumber" }, channel: { "Fn::If": ["IsBeta", "beta", { Ref: "AWS::NoValue" }] } },
        ThingGroups: ["fleet", { "Fn::If": ["IsStable", { Ref: "AWS::NoValue" }, "beta-units"] }],
      },
    },
    certificate: { Type: "AWS::IoT::Certificate", Properties: { CertificateId: { Ref: "AWS::IoT::Certificate::Id" }, Status: "ACTIVE" } },
  },
  DeviceConfiguration: { url: { "Fn::FindInMap": ["Sites", { Ref: "Region" }, "Url"] }, beta: { "Fn::If": ["IsBeta", "true", "false"] } },
});

describe("provisioning templates: the engine fleet provisioning shares with JITP", () => {
  it("resolves RegisterThing's parameters with defaults, Mappings, Conditions, Fn::If and AWS::NoValue", () => {
    const stable = evaluateFleetTemplate(body, { SerialNumber: "7", "AWS::IoT::Certificate::Id": "c1", Ignored: "x" });
    assert.ok(stable.ok, !stable.ok ? stable.reason : "");
    assert.deepEqual(stable.plan.thing?.attributes, { serial: "7" });
    assert.deepEqual(stable.plan.thing?.thingGroups, ["fleet"]);
    assert.deepEqual(stable.plan.deviceConfiguration, { url: "https://eu.example", beta: "false" });
    assert.equal(stable.plan.certificateId, "c1");
    const beta = evaluateFleetTemplate(body, { SerialNumber: "8", Region: "us", Beta: "yes", "AWS::IoT::Certificate::Id": "c2" });
    assert.ok(beta.ok);
    assert.deepEqual(beta.plan.thing?.attributes, { serial: "8", channel: "beta" });
    assert.deepEqual(beta.plan.thing?.thingGroups, ["fleet", "beta-units"]);
    assert.deepEqual(beta.plan.deviceConfiguration, { url: "https://us.example", beta: "true" });
  });

  it("names a required parameter that was not given, and a condition the template does not declare", () => {
    const missing = evaluateFleetTemplate(body, { "AWS::IoT::Certificate::Id": "c1" });
    assert.equal(missing.ok, false);
    assert.equal(!missing.ok && missing.missingParameter, "SerialNumber");
    const undeclared = evaluateFleetTemplate(JSON.stringify({ Resources: { t: { Type: "AWS::IoT::Thing", Properties: { ThingName: { "Fn::If": ["Nope", "a", "b"] } } } } }), {});
    assert.equal(undeclared.ok, false);
    assert.match(!undeclared.ok ? undeclared.reason : "", /condition Nope/);
  });

  describe("applying a plan", () => {
    let dir: string;
    let registry: Registry;
    let n = 0;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "apply-"));
      registry = new Registry({ stateDir: dir, region: "us-east-1", accountId: "123456789012", now: () => Date.now(), randomHex: (bytes) => (++n).toString(16).padStart(bytes * 2, "0") });
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    async function certificate() {
      const ca = await createRootCa({ subject: { commonName: "apply CA" } });
      const leaf = await issueCertificate({ issuer: ca, subject: { commonName: "leaf" }, kind: "client" });
      return registry.registerCertificate({ certificatePem: leaf.certPem, status: "PENDING_ACTIVATION" });
    }
    const plan = (attributes: Record<string, string>, overrideSettings: Record<string, string>, thingGroups: string[] = []): ProvisioningPlan => ({
      thing: { thingName: "unit-1", attributes, thingGroups, overrideSettings }, certificateStatus: "ACTIVE", policies: [], deviceConfiguration: {},
    });

    it("merges the attributes of a thing that exists when OverrideSettings say MERGE, adds it to its groups and activates the certificate", async () => {
      registry.createThing({ thingName: "unit-1", attributes: { site: "a" } });
      registry.createThingGroup("fleet");
      const record = await certificate();
      applyPlan(registry, plan({ serial: "1" }, { AttributePayload: "MERGE" }, ["fleet"]), record);
      assert.deepEqual(registry.getThing("unit-1").attributes, { site: "a", serial: "1" });
      assert.deepEqual(registry.groupsOf("unit-1"), ["fleet"]);
      assert.equal(registry.getCertificate(record.certificateId).status, "ACTIVE");
    });

    it("refuses to change a thing that exists with other attributes when OverrideSettings say FAIL, and a group that does not exist", async () => {
      registry.createThing({ thingName: "unit-1", attributes: { site: "a" } });
      const record = await certificate();
      assert.throws(() => applyPlan(registry, plan({ serial: "1" }, { AttributePayload: "FAIL" }), record), (e: unknown) => e instanceof AwsError && e.code === "ResourceAlreadyExistsException");
      assert.throws(() => applyPlan(registry, plan({}, {}, ["nowhere"]), record), (e: unknown) => e instanceof AwsError && e.code === "ResourceNotFoundException");
      assert.equal(registry.getCertificate(record.certificateId).status, "PENDING_ACTIVATION");
    });
  });
});
