// JITP template evaluation, pure: parameters come from the certificate subject (and `Id`);
// the result is a plan (thing, certificate status, policy) that provisioning then applies.
// Intrinsics: Ref, Fn::Join, Fn::Sub, Fn::Select, Fn::Split.

export interface ThingPlan { thingName: string; attributes: Record<string, string>; thingTypeName?: string }
export type PolicyPlan = { policyName: string } | { policyDocument: string };
export interface ProvisioningPlan {
  thing?: ThingPlan;
  certificateStatus: string;
  policies: PolicyPlan[];
}

export type TemplateResult =
  | { ok: true; plan: ProvisioningPlan }
  | { ok: false; reason: string; missingParameter?: string };

const CERTIFICATE_PARAMETER = "AWS::IoT::Certificate::";

/**
 * Evaluates a JITP templateBody with the certificate's parameters (`CommonName`, `Country`,
 * ..., `Id`, without the `AWS::IoT::Certificate::` prefix). On failure: the reason, and the
 * parameter that the certificate lacks when that is the cause.
 */
export function evaluateTemplate(templateBody: string, certificateParameters: Record<string, string>): TemplateResult {
  let template: { Parameters?: Record<string, { Default?: unknown }>; Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }> };
  try {
    template = JSON.parse(templateBody);
  } catch (error) {
    return { ok: false, reason: `templateBody is not valid JSON: ${(error as Error).message}` };
  }
  const values: Record<string, string> = {};
  for (const [name, declaration] of Object.entries(template.Parameters ?? {})) {
    const field = name.startsWith(CERTIFICATE_PARAMETER) ? name.slice(CERTIFICATE_PARAMETER.length) : undefined;
    const value = field !== undefined ? certificateParameters[field] : undefined;
    const fallback = declaration?.Default;
    if (value !== undefined) values[name] = value;
    else if (typeof fallback === "string") values[name] = fallback;
    else return { ok: false, reason: `the certificate has no ${field ?? name} and the template declares ${name} without a Default`, missingParameter: name };
  }
  try {
    return { ok: true, plan: planResources(template.Resources ?? {}, values) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

function planResources(resources: Record<string, { Type?: string; Properties?: Record<string, unknown> }>, values: Record<string, string>): ProvisioningPlan {
  const plan: ProvisioningPlan = { certificateStatus: "ACTIVE", policies: [] };
  for (const [logicalName, resource] of Object.entries(resources)) {
    const properties = resolve(resource.Properties ?? {}, values) as Record<string, unknown>;
    switch (resource.Type) {
      case "AWS::IoT::Thing":
        plan.thing = {
          thingName: requireString(properties.ThingName, `${logicalName}.ThingName`),
          attributes: stringRecord(properties.AttributePayload),
          thingTypeName: typeof properties.ThingTypeName === "string" ? properties.ThingTypeName : undefined,
        };
        break;
      case "AWS::IoT::Certificate":
        if (typeof properties.Status === "string") plan.certificateStatus = properties.Status;
        break;
      case "AWS::IoT::Policy":
        if (typeof properties.PolicyName === "string") plan.policies.push({ policyName: properties.PolicyName });
        else plan.policies.push({ policyDocument: requireString(properties.PolicyDocument, `${logicalName}.PolicyDocument`) });
        break;
      default:
        throw new Error(`resource ${logicalName} has unsupported Type ${String(resource.Type)}`);
    }
  }
  return plan;
}

function resolve(node: unknown, values: Record<string, string>): unknown {
  if (Array.isArray(node)) return node.map((item) => resolve(item, values));
  if (typeof node !== "object" || node === null) return node;
  const entries = Object.entries(node);
  if (entries.length === 1) {
    const [key, argument] = entries[0];
    switch (key) {
      case "Ref": return reference(String(argument), values);
      case "Fn::Join": {
        const [separator, list] = resolve(argument, values) as [string, unknown[]];
        return list.map(String).join(separator);
      }
      case "Fn::Sub": return String(argument).replace(/\$\{([^}]+)\}/g, (_, name: string) => reference(name, values));
      case "Fn::Select": {
        const [index, list] = resolve(argument, values) as [string | number, unknown[]];
        return list[Number(index)];
      }
      case "Fn::Split": {
        const [separator, text] = resolve(argument, values) as [string, string];
        return text.split(separator);
      }
    }
  }
  return Object.fromEntries(entries.map(([key, value]) => [key, resolve(value, values)]));
}

function reference(name: string, values: Record<string, string>): string {
  if (!Object.hasOwn(values, name)) throw new Error(`Ref to ${name}, which the template does not declare in Parameters`);
  return values[name];
}

function requireString(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") throw new Error(`${where} must be a non-empty string`);
  return value;
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  const source = (value as { attributes?: unknown }).attributes ?? value;
  return Object.fromEntries(Object.entries(source as object).map(([k, v]) => [k, String(v)]));
}
