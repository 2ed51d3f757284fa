// The provisioning template engine, pure, shared by JITP (parameters from the certificate
// subject) and fleet provisioning (parameters from RegisterThing, after the pre-provisioning
// hook): the result is a plan (thing, certificate status, policies, device configuration) that
// the caller applies. Intrinsics: Ref, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::FindInMap
// (with a Mappings section) and Fn::If over a Conditions section (Fn::Equals, Fn::Not, Fn::And,
// Fn::Or, Condition); `{"Ref": "AWS::NoValue"}` removes the property or list item it stands in.

export interface ThingPlan {
  thingName: string;
  attributes: Record<string, string>;
  thingTypeName?: string;
  thingGroups: string[];
  /** How an existing thing is changed (OverrideSettings): "REPLACE", "MERGE", "FAIL" or "DO_NOTHING" per property */
  overrideSettings: Record<string, string>;
}
export type PolicyPlan = { policyName: string } | { policyDocument: string };
export interface ProvisioningPlan {
  thing?: ThingPlan;
  certificateStatus: string;
  /** the certificate the template names (`CertificateId`), when it names one */
  certificateId?: string;
  policies: PolicyPlan[];
  /** the template's DeviceConfiguration section, resolved */
  deviceConfiguration: Record<string, string>;
}

export type TemplateResult =
  | { ok: true; plan: ProvisioningPlan }
  | { ok: false; reason: string; missingParameter?: string };

const CERTIFICATE_PARAMETER = "AWS::IoT::Certificate::";
const NO_VALUE = Symbol("AWS::NoValue");

interface TemplateDocument {
  Parameters?: Record<string, { Default?: unknown }>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown>; OverrideSettings?: Record<string, unknown> }>;
  DeviceConfiguration?: Record<string, unknown>;
}

interface Scope {
  values: Record<string, string>;
  template: TemplateDocument;
  conditions: Map<string, boolean | "evaluating">;
}

/**
 * Evaluates a JITP templateBody with the certificate's parameters (`CommonName`, `Country`,
 * ..., `Id`, without the `AWS::IoT::Certificate::` prefix). On failure: the reason, and the
 * parameter that the certificate lacks when that is the cause.
 */
export function evaluateTemplate(templateBody: string, certificateParameters: Record<string, string>): TemplateResult {
  const given: Record<string, string> = {};
  for (const [field, value] of Object.entries(certificateParameters)) given[CERTIFICATE_PARAMETER + field] = value;
  return evaluateWith(templateBody, given, (name) => {
    const field = name.startsWith(CERTIFICATE_PARAMETER) ? name.slice(CERTIFICATE_PARAMETER.length) : name;
    return `the certificate has no ${field} and the template declares ${name} without a Default`;
  });
}

/**
 * Evaluates a fleet provisioning templateBody with the parameters of RegisterThing (and
 * `AWS::IoT::Certificate::Id`, which the service adds). Parameters the template does not
 * declare are ignored, as AWS does.
 */
export function evaluateFleetTemplate(templateBody: string, parameters: Record<string, string>): TemplateResult {
  return evaluateWith(templateBody, parameters, (name) => `the template requires parameter ${name}, which was not given and has no Default`);
}

function evaluateWith(templateBody: string, given: Record<string, string>, missing: (name: string) => string): TemplateResult {
  let template: TemplateDocument;
  try {
    template = JSON.parse(templateBody);
  } catch (error) {
    return { ok: false, reason: `templateBody is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof template !== "object" || template === null) return { ok: false, reason: "templateBody is not a JSON object" };
  const values: Record<string, string> = {};
  for (const [name, declaration] of Object.entries(template.Parameters ?? {})) {
    const fallback = declaration?.Default;
    if (Object.hasOwn(given, name)) values[name] = given[name];
    else if (typeof fallback === "string") values[name] = fallback;
    else return { ok: false, reason: missing(name), missingParameter: name };
  }
  try {
    return { ok: true, plan: planResources({ values, template, conditions: new Map() }) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

function planResources(scope: Scope): ProvisioningPlan {
  const plan: ProvisioningPlan = { certificateStatus: "ACTIVE", policies: [], deviceConfiguration: {} };
  for (const [logicalName, resource] of Object.entries(scope.template.Resources ?? {})) {
    const properties = resolve(resource.Properties ?? {}, scope) as Record<string, unknown>;
    switch (resource.Type) {
      case "AWS::IoT::Thing":
        plan.thing = {
          thingName: requireString(properties.ThingName, `${logicalName}.ThingName`),
          attributes: stringRecord(properties.AttributePayload),
          thingTypeName: typeof properties.ThingTypeName === "string" ? properties.ThingTypeName : undefined,
          thingGroups: Array.isArray(properties.ThingGroups) ? properties.ThingGroups.map(String) : [],
          overrideSettings: Object.fromEntries(Object.entries(resource.OverrideSettings ?? {}).map(([k, v]) => [k, String(v)])),
        };
        break;
      case "AWS::IoT::Certificate":
        if (typeof properties.Status === "string") plan.certificateStatus = properties.Status;
        if (typeof properties.CertificateId === "string") plan.certificateId = properties.CertificateId;
        break;
      case "AWS::IoT::Policy":
        if (typeof properties.PolicyName === "string") plan.policies.push({ policyName: properties.PolicyName });
        else {
          const document = properties.PolicyDocument;
          plan.policies.push({ policyDocument: typeof document === "object" && document !== null ? JSON.stringify(document) : requireString(document, `${logicalName}.PolicyDocument`) });
        }
        break;
      default:
        throw new Error(`resource ${logicalName} has unsupported Type ${String(resource.Type)}`);
    }
  }
  plan.deviceConfiguration = stringRecord(resolve(scope.template.DeviceConfiguration ?? {}, scope));
  return plan;
}

function resolve(node: unknown, scope: Scope): unknown {
  if (Array.isArray(node)) return node.map((item) => resolve(item, scope)).filter((item) => item !== NO_VALUE);
  if (typeof node !== "object" || node === null) return node;
  const entries = Object.entries(node);
  if (entries.length === 1) {
    const [key, argument] = entries[0];
    switch (key) {
      case "Ref": return String(argument) === "AWS::NoValue" ? NO_VALUE : reference(String(argument), scope.values);
      case "Fn::Join": {
        const [separator, list] = resolve(argument, scope) as [string, unknown[]];
        return list.map(String).join(separator);
      }
      case "Fn::Sub": return String(argument).replace(/\$\{([^}]+)\}/g, (_, name: string) => reference(name, scope.values));
      case "Fn::Select": {
        const [index, list] = resolve(argument, scope) as [string | number, unknown[]];
        return list[Number(index)];
      }
      case "Fn::Split": {
        const [separator, text] = resolve(argument, scope) as [string, string];
        return text.split(separator);
      }
      case "Fn::FindInMap": {
        const [map, top, second] = (resolve(argument, scope) as unknown[]).map(String);
        const value = scope.template.Mappings?.[map]?.[top]?.[second];
        if (value === undefined) throw new Error(`Fn::FindInMap: Mappings has no ${map}.${top}.${second}`);
        return value;
      }
      case "Fn::If": {
        const [name, whenTrue, whenFalse] = argument as [string, unknown, unknown];
        return resolve(condition(String(name), scope) ? whenTrue : whenFalse, scope);
      }
    }
  }
  const resolved = entries.map(([key, value]) => [key, resolve(value, scope)] as const).filter(([, value]) => value !== NO_VALUE);
  return Object.fromEntries(resolved);
}

/** A named condition of the Conditions section, evaluated once. */
function condition(name: string, scope: Scope): boolean {
  const known = scope.conditions.get(name);
  if (known === "evaluating") throw new Error(`condition ${name} refers to itself`);
  if (known !== undefined) return known;
  const definition = scope.template.Conditions?.[name];
  if (definition === undefined) throw new Error(`Fn::If names condition ${name}, which the template does not declare in Conditions`);
  scope.conditions.set(name, "evaluating");
  const value = truth(definition, scope);
  scope.conditions.set(name, value);
  return value;
}

function truth(node: unknown, scope: Scope): boolean {
  const [key, argument] = Object.entries(node as object)[0] ?? [];
  const list = Array.isArray(argument) ? argument : [];
  switch (key) {
    case "Fn::Equals": {
      const [a, b] = list.map((item) => JSON.stringify(resolve(item, scope)));
      return a === b;
    }
    case "Fn::Not": return !truth(list[0], scope);
    case "Fn::And": return list.every((item) => truth(item, scope));
    case "Fn::Or": return list.some((item) => truth(item, scope));
    case "Condition": return condition(String(argument), scope);
    default: throw new Error(`a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition, not ${JSON.stringify(node)}`);
  }
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
  return Object.fromEntries(Object.entries(source as object).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}
