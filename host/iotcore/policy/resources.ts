// The ARNs IoT policies name for MQTT actions, and the variables a connection supplies.
import type { PolicyVariables } from "./evaluate.js";

export type MqttAction = "iot:Connect" | "iot:Publish" | "iot:Subscribe" | "iot:Receive";

export interface ResourceScope { region: string; accountId: string }

/** client/<id> for Connect, topic/<t> for Publish and Receive, topicfilter/<f> for Subscribe. */
export function resourceArn(scope: ResourceScope, action: MqttAction, name: string): string {
  const kind = action === "iot:Connect" ? "client" : action === "iot:Subscribe" ? "topicfilter" : "topic";
  return `arn:aws:iot:${scope.region}:${scope.accountId}:${kind}/${name}`;
}

export interface ConnectionFacts {
  clientId: string;
  thingName?: string;
  certificateId?: string;
  subject?: Record<string, string>;   // template-style names: CommonName, Country...
  principalId?: string;
}

const SUBJECT_VARIABLES: Record<string, string> = {
  CommonName: "iot:Certificate.Subject.CommonName",
  Country: "iot:Certificate.Subject.Country",
  Organization: "iot:Certificate.Subject.Organization",
  OrganizationalUnit: "iot:Certificate.Subject.OrganizationalUnit",
  DistinguishedNameQualifier: "iot:Certificate.Subject.DistinguishedNameQualifier",
  StateName: "iot:Certificate.Subject.State",
  SerialNumber: "iot:Certificate.Subject.SerialNumber",
};

/** The policy variables AWS resolves for an MQTT connection. */
export function connectionVariables(facts: ConnectionFacts): PolicyVariables {
  const variables: PolicyVariables = {
    "iot:ClientId": facts.clientId,
    "iot:Connection.Thing.ThingName": facts.thingName,
    "iot:Connection.Thing.IsAttached": facts.thingName ? "true" : "false",
  };
  if (facts.certificateId) variables["iot:CertificateId"] = facts.certificateId;
  for (const [field, name] of Object.entries(SUBJECT_VARIABLES)) {
    const value = facts.subject?.[field];
    if (value !== undefined) variables[name] = value;
  }
  return variables;
}
