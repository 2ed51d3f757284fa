// Pure cores: IoT policy evaluation, JITP template evaluation.
import assert from "node:assert/strict";
import { evaluatePolicies, evaluateWithAttached, wildcardMatch } from "../../host/iotcore/policy/evaluate.js";
import { connectionVariables } from "../../host/iotcore/policy/resources.js";
import { evaluateTemplate } from "../../host/iotcore/provisioning/template.js";

const ARN = "arn:aws:iot:us-east-1:123456789012";
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });

describe("IoT policy evaluation", () => {
  const vars = connectionVariables({ clientId: "dev-1", thingName: "dev-1", subject: { CommonName: "cn-1" } });

  it("denies by default and allows what a statement allows", () => {
    const policy = doc({ Effect: "Allow", Action: "iot:Publish", Resource: `${ARN}:topic/a/*` });
    assert.equal(evaluatePolicies([policy], "iot:Publish", `${ARN}:topic/a/b/c`, vars).decision, "allow");
    assert.equal(evaluatePolicies([policy], "iot:Publish", `${ARN}:topic/b`, vars).decision, "default-deny");
    assert.equal(evaluatePolicies([policy], "iot:Subscribe", `${ARN}:topicfilter/a/b`, vars).decision, "default-deny");
  });

  it("lets an explicit Deny in any attached policy win over an Allow", () => {
    const allow = doc({ Effect: "Allow", Action: "iot:*", Resource: "*" });
    const deny = doc({ Effect: "Deny", Action: ["iot:Publish"], Resource: [`${ARN}:topic/secret`] });
    assert.equal(evaluatePolicies([allow, deny], "iot:Publish", `${ARN}:topic/secret`, vars).decision, "explicit-deny");
    assert.equal(evaluatePolicies([allow, deny], "iot:Publish", `${ARN}:topic/open`, vars).decision, "allow");
  });

  it("matches `*` across slashes and `?` as one character, and actions case-insensitively", () => {
    assert.equal(wildcardMatch("a/*/c", "a/x/y/c"), true);
    assert.equal(wildcardMatch("dev-?", "dev-12"), false);
    assert.equal(wildcardMatch("dev-??", "dev-12"), true);
    const policy = doc({ Effect: "Allow", Action: "IOT:connect", Resource: `${ARN}:client/dev-?` });
    assert.equal(evaluatePolicies([policy], "iot:Connect", `${ARN}:client/dev-1`, vars).decision, "allow");
  });

  it("substitutes thing name, client id and certificate CommonName, and matches nothing when a variable is unknown", () => {
    const policy = doc(
      { Effect: "Allow", Action: "iot:Connect", Resource: `${ARN}:client/\${iot:Connection.Thing.ThingName}` },
      { Effect: "Allow", Action: "iot:Publish", Resource: `${ARN}:topic/\${iot:ClientId}/\${iot:Certificate.Subject.CommonName}` },
    );
    assert.equal(evaluatePolicies([policy], "iot:Connect", `${ARN}:client/dev-1`, vars).decision, "allow");
    assert.equal(evaluatePolicies([policy], "iot:Publish", `${ARN}:topic/dev-1/cn-1`, vars).decision, "allow");
    const noThing = connectionVariables({ clientId: "dev-1" });
    assert.equal(evaluatePolicies([policy], "iot:Connect", `${ARN}:client/dev-1`, noThing).decision, "default-deny");
  });

  it("allows an authenticated Cognito identity only what both its role's IAM policy and its attached IoT policies allow; an explicit Deny in either wins", () => {
    const id = "us-east-1:0f6b1b3c-1111-2222-3333-444455556666";
    const iam = doc({ Effect: "Allow", Action: "iot:Publish", Resource: `${ARN}:topic/a/*` }, { Effect: "Deny", Action: "iot:Publish", Resource: `${ARN}:topic/a/secret` });
    const iot = doc({ Effect: "Allow", Action: "iot:Publish", Resource: `${ARN}:topic/*` }, { Effect: "Deny", Action: "iot:Publish", Resource: `${ARN}:topic/a/private` });
    let attached: string[] = [];
    const decide = (topic: string) => evaluateWithAttached([iam], ["role"], () => ({ documents: attached, names: attached.map((_, i) => `p${i}`) }), id, "iot:Publish", `${ARN}:topic/${topic}`, vars);
    const missing = decide("a/b");
    assert.equal(missing.decision, "default-deny");
    assert.match(missing.by ?? "", new RegExp(`no IoT policy attached to identity ${id}.*attach-policy --target ${id}`));
    attached = [iot];
    assert.equal(decide("a/b").decision, "allow");
    assert.equal(decide("b").decision, "default-deny", "the IoT policy allows b, the IAM policy does not");
    assert.equal(decide("a/secret").decision, "explicit-deny");
    assert.equal(decide("a/private").decision, "explicit-deny");
    // Without attached policies (unauthenticated identities, IAM users) the IAM policy alone decides.
    assert.equal(evaluateWithAttached([iam], undefined, undefined, id, "iot:Publish", `${ARN}:topic/a/b`, vars).decision, "allow");
  });

  it("treats malformed documents as granting nothing", () => {
    assert.equal(evaluatePolicies(["{not json", "{}"], "iot:Connect", `${ARN}:client/x`, vars).decision, "default-deny");
  });
});

describe("JITP template evaluation", () => {
  const body = JSON.stringify({
    Parameters: {
      "AWS::IoT::Certificate::CommonName": { Type: "String" },
      "AWS::IoT::Certificate::Country": { Type: "String" },
      "AWS::IoT::Certificate::Organization": { Type: "String", Default: "none" },
      "AWS::IoT::Certificate::Id": { Type: "String" },
    },
    Resources: {
      thing: { Type: "AWS::IoT::Thing", Properties: { ThingName: { "Fn::Join": ["-", ["t", { Ref: "AWS::IoT::Certificate::CommonName" }]] }, AttributePayload: { country: { Ref: "AWS::IoT::Certificate::Country" }, org: { Ref: "AWS::IoT::Certificate::Organization" } } } },
      certificate: { Type: "AWS::IoT::Certificate", Properties: { CertificateId: { Ref: "AWS::IoT::Certificate::Id" }, Status: "ACTIVE" } },
      policy: { Type: "AWS::IoT::Policy", Properties: { PolicyName: "Fleet" } },
    },
  });

  it("builds the thing, status and policy from subject fields, using Defaults for absent optional ones", () => {
    const result = evaluateTemplate(body, { CommonName: "Demo", Country: "IN", Id: "abc" });
    assert.ok(result.ok);
    assert.deepEqual(result.plan, {
      thing: { thingName: "t-Demo", attributes: { country: "IN", org: "none" }, thingTypeName: undefined, thingGroups: [], overrideSettings: {} },
      certificateStatus: "ACTIVE", certificateId: "abc", policies: [{ policyName: "Fleet" }], deviceConfiguration: {},
    });
  });

  it("names the parameter the certificate lacks", () => {
    const result = evaluateTemplate(body, { CommonName: "Demo", Id: "abc" });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.missingParameter, "AWS::IoT::Certificate::Country");
  });

  it("reports a template that is not JSON", () => {
    const result = evaluateTemplate("{", {});
    assert.equal(result.ok, false);
  });
});
