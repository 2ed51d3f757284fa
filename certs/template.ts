// The JITP provisioning template (docs/aws-iot-core.md#just-in-time-provisioning-jitp): a thing named after the certificate's
// CommonName, the certificate made ACTIVE, and a least-privilege policy keyed on
// `${iot:Connection.Thing.ThingName}` (its own topics and its own shadows). Parameters come
// only from the certificate subject.

import type { Subject } from "./pki.js";

/** Subject fields a template may use, mapped to their `AWS::IoT::Certificate::*` parameter names. */
export const TEMPLATE_FIELDS: Record<Exclude<keyof Subject, "commonName">, string> = {
  country: "Country",
  organization: "Organization",
  organizationalUnit: "OrganizationalUnit",
  stateName: "StateName",
  serialNumber: "SerialNumber",
  distinguishedNameQualifier: "DistinguishedNameQualifier",
};

export type TemplateField = keyof typeof TEMPLATE_FIELDS;

export interface JitpTemplate {
  templateBody: string;
  roleArn: string;
}

export interface TemplateOptions {
  region: string;
  accountId: string;
  /** Default arn:aws:iam::<accountId>:role/JITPRole */
  roleArn?: string;
  /** Subject fields (besides CommonName) the template declares; each becomes a thing attribute. Default ["country"]. */
  fields?: TemplateField[];
}

/**
 * The least-privilege statements for one thing (a name or a policy variable such as
 * `${iot:Connection.Thing.ThingName}`): connect as the thing, publish/receive/subscribe under
 * `<thing>/`, its own Device Shadows (classic and named: `$aws/things/<thing>/shadow/*`), its
 * own jobs (`$aws/things/<thing>/jobs/*`) and the streams it fetches OTA images from
 * (`$aws/things/<thing>/streams/*`), and nobody else's.
 */
function thingStatements(arn: string, thing: string): object[] {
  const reserved = ["shadow", "jobs", "streams"].map((service) => `$aws/things/${thing}/${service}/*`);
  return [
    { Effect: "Allow", Action: ["iot:Connect"], Resource: [`${arn}:client/${thing}`] },
    { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [`${arn}:topic/${thing}/*`, ...reserved.map((t) => `${arn}:topic/${t}`)] },
    { Effect: "Allow", Action: ["iot:Subscribe"], Resource: [`${arn}:topicfilter/${thing}/*`, ...reserved.map((t) => `${arn}:topicfilter/${t}`)] },
  ];
}

/**
 * The one device policy document: `thingStatements` for `thing`, by default the connection's
 * thing (the JITP template's); `npm start` also keys it on a certificate's CommonName or names
 * the thing.
 */
export function devicePolicy(region: string, accountId: string, thing = "${iot:Connection.Thing.ThingName}"): object {
  return { Version: "2012-10-17", Statement: thingStatements(`arn:aws:iot:${region}:${accountId}`, thing) };
}

/** The resources every provisioning template gives a device: its certificate made ACTIVE and the device policy. */
export function certificateAndPolicy(region: string, accountId: string): Record<"certificate" | "policy", object> {
  return {
    certificate: { Type: "AWS::IoT::Certificate", Properties: { CertificateId: { Ref: "AWS::IoT::Certificate::Id" }, Status: "ACTIVE" } },
    policy: { Type: "AWS::IoT::Policy", Properties: { PolicyDocument: JSON.stringify(devicePolicy(region, accountId)) } },
  };
}

/** The registration config to attach to the CA (templateBody is a JSON string, as the API takes it). */
export function jitpTemplate(options: TemplateOptions): JitpTemplate {
  const fields = options.fields ?? ["country"];
  const parameters: Record<string, { Type: "String" }> = { "AWS::IoT::Certificate::CommonName": { Type: "String" } };
  const attributes: Record<string, unknown> = { version: "v1" };
  for (const field of fields) {
    const name = `AWS::IoT::Certificate::${TEMPLATE_FIELDS[field]}`;
    parameters[name] = { Type: "String" };
    attributes[field] = { Ref: name };
  }
  parameters["AWS::IoT::Certificate::Id"] = { Type: "String" };
  const body = {
    Parameters: parameters,
    Resources: {
      thing: {
        Type: "AWS::IoT::Thing",
        Properties: { ThingName: { Ref: "AWS::IoT::Certificate::CommonName" }, AttributePayload: attributes },
      },
      ...certificateAndPolicy(options.region, options.accountId),
    },
  };
  return {
    templateBody: JSON.stringify(body),
    roleArn: options.roleArn ?? `arn:aws:iam::${options.accountId}:role/JITPRole`,
  };
}

/** Template fields the device subject lacks (such a certificate would stay PENDING_ACTIVATION under JITP). */
export function missingTemplateFields(template: JitpTemplate, subject: Subject): string[] {
  const declared = Object.keys((JSON.parse(template.templateBody) as { Parameters: Record<string, unknown> }).Parameters);
  const missing: string[] = [];
  for (const [field, name] of Object.entries(TEMPLATE_FIELDS) as [TemplateField, string][]) {
    if (declared.includes(`AWS::IoT::Certificate::${name}`) && !subject[field]) missing.push(field);
  }
  return missing;
}
