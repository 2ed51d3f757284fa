// Fleet provisioning by claim: the claim certificate's policy (only the provisioning topics)
// and the fleet provisioning template (a thing per serial number, the new certificate ACTIVE,
// the same least-privilege device policy as JITP, keyed on the connection's thing name).

import { certificateAndPolicy } from "./template.js";

export interface FleetTemplateOptions {
  region: string;
  accountId: string;
  /** Default arn:aws:iam::<accountId>:role/FleetProvisioningRole */
  roleArn?: string;
  /** Thing names are `<prefix><SerialNumber>`; default "device-". */
  thingNamePrefix?: string;
}

export interface FleetTemplate {
  templateBody: string;
  provisioningRoleArn: string;
}

/**
 * The claim policy: connect (any client id: a unit of the batch uses its serial number), and
 * publish, receive and subscribe on CreateKeysAndCertificate, CreateCertificateFromCsr and
 * this template's RegisterThing topics; nothing else (no telemetry, no shadows).
 */
export function claimPolicy(region: string, accountId: string, templateName: string): object {
  const arn = `arn:aws:iot:${region}:${accountId}`;
  const topics = ["$aws/certificates/create/json/*", "$aws/certificates/create-from-csr/json/*", `$aws/provisioning-templates/${templateName}/provision/json/*`];
  const requests = ["$aws/certificates/create/json", "$aws/certificates/create-from-csr/json", `$aws/provisioning-templates/${templateName}/provision/json`];
  return {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["iot:Connect"], Resource: [`${arn}:client/*`] },
      { Effect: "Allow", Action: ["iot:Publish"], Resource: requests.map((t) => `${arn}:topic/${t}`) },
      { Effect: "Allow", Action: ["iot:Receive"], Resource: topics.map((t) => `${arn}:topic/${t}`) },
      { Effect: "Allow", Action: ["iot:Subscribe"], Resource: topics.map((t) => `${arn}:topicfilter/${t}`) },
    ],
  };
}

/** The fleet provisioning template: parameters SerialNumber (required) and Model (default "esp32"). */
export function fleetTemplate(options: FleetTemplateOptions): FleetTemplate {
  const body = {
    Parameters: {
      SerialNumber: { Type: "String" },
      Model: { Type: "String", Default: "esp32" },
      "AWS::IoT::Certificate::Id": { Type: "String" },
    },
    Resources: {
      thing: {
        Type: "AWS::IoT::Thing",
        OverrideSettings: { AttributePayload: "MERGE", ThingTypeName: "DO_NOTHING", ThingGroups: "DO_NOTHING" },
        Properties: {
          ThingName: { "Fn::Join": ["", [options.thingNamePrefix ?? "device-", { Ref: "SerialNumber" }]] },
          AttributePayload: { serialNumber: { Ref: "SerialNumber" }, model: { Ref: "Model" }, provisioning: "fleet" },
        },
      },
      ...certificateAndPolicy(options.region, options.accountId),
    },
    DeviceConfiguration: { model: { Ref: "Model" } },
  };
  return {
    templateBody: JSON.stringify(body),
    provisioningRoleArn: options.roleArn ?? `arn:aws:iam::${options.accountId}:role/FleetProvisioningRole`,
  };
}
