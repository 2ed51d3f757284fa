// Fleet provisioning by claim: the claim certificate's policy (only the provisioning topics)
// and the fleet provisioning template (a thing per serial number, the new certificate ACTIVE,
// the same least-privilege device policy as JITP, keyed on the connection's thing name).

import { createHash, X509Certificate } from "node:crypto";
import { AttachPolicyCommand, CreateKeysAndCertificateCommand, CreatePolicyCommand, CreateProvisioningTemplateCommand } from "@aws-sdk/client-iot";
import { controlPlaneClient } from "./register.js";
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

export interface ClaimSetup {
  templateName: string;
  region: string;
  accountId: string;
  endpointUrl?: string;
  roleArn?: string;
  /** The template's pre-provisioning hook (a Lambda ARN, or a local function's on the stand-in). */
  hookArn?: string;
  /** The claim when one exists already (its files): only the policy and template are made. */
  existingClaimPem?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  log: (line: string) => void;
}

/**
 * Makes the claim on the control plane: CreateKeysAndCertificate (active) unless a claim
 * exists, the claim policy attached to it, the provisioning template (enabled). Policy and
 * template that exist already are kept. Rejects with the SDK's error.
 */
export async function createClaim(setup: ClaimSetup): Promise<{ certificatePem: string; privateKeyPem?: string; certificateId: string }> {
  const iot = controlPlaneClient(setup);
  const policyName = `${setup.templateName}-claim`;
  try {
    let claim: { certificatePem: string; privateKeyPem?: string; certificateId: string; certificateArn: string };
    if (setup.existingClaimPem) {
      const id = createHash("sha256").update(new X509Certificate(setup.existingClaimPem).raw).digest("hex");
      claim = { certificatePem: setup.existingClaimPem, certificateId: id, certificateArn: `arn:aws:iot:${setup.region}:${setup.accountId}:cert/${id}` };
    } else {
      const out = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
      claim = { certificatePem: out.certificatePem!, privateKeyPem: out.keyPair!.PrivateKey!, certificateId: out.certificateId!, certificateArn: out.certificateArn! };
      setup.log(`claim certificate ${claim.certificateId.slice(0, 12)}… created ACTIVE (CreateKeysAndCertificate)`);
    }
    await ignoreExisting(iot.send(new CreatePolicyCommand({ policyName, policyDocument: JSON.stringify(claimPolicy(setup.region, setup.accountId, setup.templateName)) })), () => setup.log(`policy ${policyName} exists, kept`));
    await iot.send(new AttachPolicyCommand({ policyName, target: claim.certificateArn }));
    setup.log(`claim policy ${policyName} attached: only the provisioning topics of template ${setup.templateName}`);
    const template = fleetTemplate({ region: setup.region, accountId: setup.accountId, roleArn: setup.roleArn });
    await ignoreExisting(iot.send(new CreateProvisioningTemplateCommand({
      templateName: setup.templateName, templateBody: template.templateBody, provisioningRoleArn: template.provisioningRoleArn, enabled: true, type: "FLEET_PROVISIONING",
      ...(setup.hookArn ? { preProvisioningHook: { targetArn: setup.hookArn, payloadVersion: "2020-04-01" } } : {}),
    })), () => setup.log(`provisioning template ${setup.templateName} exists, kept`));
    setup.log(`provisioning template ${setup.templateName} enabled: thing device-<SerialNumber>, certificate ACTIVE, least-privilege device policy`);
    return claim;
  } finally {
    iot.destroy();
  }
}

async function ignoreExisting(call: Promise<unknown>, onExisting: () => void): Promise<void> {
  try {
    await call;
  } catch (error) {
    if ((error as Error).name !== "ResourceAlreadyExistsException") throw error;
    onExisting();
  }
}

/** The AWS CLI commands that do what createClaim does. */
export function claimAwsCli(files: { claimPem: string; claimKeyPem: string; policy: string; template: string }, setup: Pick<ClaimSetup, "templateName" | "endpointUrl" | "region">): string[] {
  const plane = `--region ${setup.region}${setup.endpointUrl ? ` --endpoint-url ${setup.endpointUrl}` : ""}`;
  return [
    `aws iot create-keys-and-certificate --set-as-active --certificate-pem-outfile ${files.claimPem} --private-key-outfile ${files.claimKeyPem} ${plane}`,
    `aws iot create-policy --policy-name ${setup.templateName}-claim --policy-document file://${files.policy} ${plane}`,
    `aws iot attach-policy --policy-name ${setup.templateName}-claim --target <certificateArn> ${plane}`,
    `aws iot create-provisioning-template --template-name ${setup.templateName} --enabled --cli-input-json file://${files.template} ${plane}`,
  ];
}
