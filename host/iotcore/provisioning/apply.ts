// Applies a provisioning plan (template.ts) to the registry: policies (an inline document
// becomes a policy named after its hash), the thing (created, or reused as the template's
// OverrideSettings say), its thing groups, the attachments and the certificate's status.
// JITP and fleet provisioning share it.
import { createHash } from "node:crypto";
import { AwsError } from "../registry/errors.js";
import type { CertificateRecord, Registry } from "../registry/registry.js";
import type { ProvisioningPlan, ThingPlan } from "./template.js";

export interface AppliedPlan { thingName?: string; policyNames: string[]; summary: string }

/** Raises AwsError (unknown policy or group, a thing the OverrideSettings forbid changing...). */
export function applyPlan(registry: Registry, plan: ProvisioningPlan, record: CertificateRecord): AppliedPlan {
  const policyNames = plan.policies.map((policy) => {
    if ("policyName" in policy) {
      registry.getPolicy(policy.policyName);
      return policy.policyName;
    }
    // AWS names a template's inline policy after the document's hash, so every device
    // provisioned by the same template shares one policy.
    const name = createHash("sha256").update(policy.policyDocument).digest("hex");
    if (!registry.policies.has(name)) registry.createPolicy(name, policy.policyDocument);
    return name;
  });
  for (const group of plan.thing?.thingGroups ?? []) registry.getThingGroup(group);
  let thingName: string | undefined;
  if (plan.thing) {
    thingName = plan.thing.thingName;
    createOrReuseThing(registry, plan.thing);
    for (const group of plan.thing.thingGroups) registry.addThingToThingGroup(group, thingName);
    registry.attachThingPrincipal(thingName, record.certificateArn);
  }
  for (const name of policyNames) registry.attachPolicy(name, record.certificateArn);
  registry.updateCertificate(record.certificateId, plan.certificateStatus);
  const summary = `status ${plan.certificateStatus}${thingName ? `, thing ${thingName}` : ""}${policyNames.length ? `, policy ${policyNames.join(", ")} attached` : ""}`;
  return { thingName, policyNames, summary };
}

// OverrideSettings (AWS): for an existing thing, each of AttributePayload, ThingTypeName and
// ThingGroups is REPLACE, MERGE (attributes and groups), FAIL or DO_NOTHING; without a setting
// AWS leaves the property as it is (DO_NOTHING).
function createOrReuseThing(registry: Registry, plan: ThingPlan): void {
  const existing = registry.things.get(plan.thingName);
  if (!existing) {
    registry.createThing(plan);
    return;
  }
  const settings = plan.overrideSettings;
  const changes: { attributes?: Record<string, string>; thingTypeName?: string } = {};
  const attributes = settings.AttributePayload ?? "DO_NOTHING";
  const same = JSON.stringify(existing.attributes) === JSON.stringify(plan.attributes);
  if (attributes === "FAIL" && !same) throw new AwsError("ResourceAlreadyExistsException", `thing ${plan.thingName} exists with other attributes and the template's OverrideSettings say FAIL`);
  if (attributes === "REPLACE") changes.attributes = plan.attributes;
  if (attributes === "MERGE") changes.attributes = { ...existing.attributes, ...plan.attributes };
  const type = settings.ThingTypeName ?? "DO_NOTHING";
  if (type === "FAIL" && plan.thingTypeName !== existing.thingTypeName) throw new AwsError("ResourceAlreadyExistsException", `thing ${plan.thingName} exists with another thing type and the template's OverrideSettings say FAIL`);
  if (type === "REPLACE") changes.thingTypeName = plan.thingTypeName;
  if (changes.attributes || changes.thingTypeName !== undefined) registry.updateThing(plan.thingName, changes);
}
