// Fleet provisioning by claim, the device-facing MQTT API: a device connected with a claim
// certificate publishes
//   $aws/certificates/create/json                         CreateKeysAndCertificate
//   $aws/certificates/create-from-csr/json                CreateCertificateFromCsr
//   $aws/provisioning-templates/<name>/provision/json     RegisterThing
// and hears back on `<topic>/accepted` or `<topic>/rejected`, on its own connection only (the
// accepted CreateKeysAndCertificate carries a private key). The broker has already applied the
// claim's policy to the request (Publish) and applies it to the reply (Receive). Only the JSON
// payload format is served; `/cbor` requests get no answer.
import type { DeviceCertificateIssuer } from "../../pki/device-certificates.js";
import { applyPlan } from "../../provisioning/apply.js";
import { evaluateFleetTemplate } from "../../provisioning/template.js";
import { AwsError } from "../../registry/errors.js";
import type { Registry } from "../../registry/registry.js";
import type { RateWindow } from "../../dataplane/quotas.js";
import type { Principal } from "../../dataplane/types.js";
import type { LocalFunctions } from "../lambda/local-functions.js";
import type { OwnershipTokens } from "./ownership-tokens.js";
import type { ProvisioningTemplates } from "./templates.js";

export interface FleetProvisioningOptions {
  registry: Registry;
  templates: ProvisioningTemplates;
  issuer: DeviceCertificateIssuer;
  tokens: OwnershipTokens;
  functions: LocalFunctions;
  log: (line: string) => void;
  /** publishes to one connection (the broker's publishTo) */
  reply: (clientId: string, topic: string, payload: string) => Promise<boolean>;
  /** the account's RegisterThing rate (docs/fleet.md#account-limits); unlimited when absent */
  registrations?: RateWindow;
  now?: () => number;
}

/** The rejected document AWS publishes: `{statusCode, errorCode, errorMessage}`. */
export interface Rejection { statusCode: number; errorCode: string; errorMessage: string }

type Outcome = { ok: true; document: object } | { ok: false; rejection: Rejection };

const CREATE = "$aws/certificates/create/json";
const CREATE_FROM_CSR = "$aws/certificates/create-from-csr/json";
const REGISTER = /^\$aws\/provisioning-templates\/([^/]+)\/provision\/json$/;

// errorCode values: AWS documents the rejected document's shape, and the device SDKs show
// "InvalidCertificateOwnershipToken" and "InvalidPayload"; the other codes are the stand-in's
// names (docs/fleet-provisioning.md lists them).
const reject = (statusCode: number, errorCode: string, errorMessage: string): Outcome => ({ ok: false, rejection: { statusCode, errorCode, errorMessage } });

export class FleetProvisioningService {
  constructor(private readonly options: FleetProvisioningOptions) {}

  /** Answers a request message; false for any other topic. */
  handleMessage(message: { topic: string; payload: Uint8Array; clientId?: string; principal?: Principal }): boolean {
    const { topic, clientId } = message;
    const template = REGISTER.exec(topic)?.[1];
    if (topic !== CREATE && topic !== CREATE_FROM_CSR && template === undefined) return false;
    if (!clientId) return true;
    const claim = message.principal?.certificateId;
    const work = template !== undefined
      ? this.registerThing(template, message.payload, claim, clientId)
      : topic === CREATE ? this.createKeysAndCertificate(message.payload, claim) : this.createCertificateFromCsr(message.payload, claim);
    void work.catch((error: Error): Outcome => {
      this.options.log(`fleet provisioning: ${topic}: internal failure: ${error.message}`);
      return reject(500, "InternalError", "Internal error: try again.");
    }).then(async (outcome) => {
      const reply = `${topic}/${outcome.ok ? "accepted" : "rejected"}`;
      const delivered = await this.options.reply(clientId, reply, JSON.stringify(outcome.ok ? outcome.document : outcome.rejection));
      if (!delivered) this.options.log(`fleet provisioning: client ${clientId} has no subscription to ${reply} (or its policy denies iot:Receive): the reply was not delivered`);
    });
    return true;
  }

  private async createKeysAndCertificate(payload: Uint8Array, claim: string | undefined): Promise<Outcome> {
    const request = parseObject(payload);
    if (!request) return reject(400, "InvalidPayload", "The request payload is not a JSON object.");
    const created = await this.options.issuer.createKeysAndCertificate("PENDING_ACTIVATION", "fleet-provisioning");
    const { certificateId, certificatePem } = created.record;
    this.options.log(`fleet provisioning: CreateKeysAndCertificate: certificate ${certificateId} created PENDING_ACTIVATION for claim ${claim ?? "(none)"}`);
    return {
      ok: true,
      document: { certificateId, certificatePem, privateKey: created.privateKeyPem, certificateOwnershipToken: this.options.tokens.issue(certificateId, claim) },
    };
  }

  private async createCertificateFromCsr(payload: Uint8Array, claim: string | undefined): Promise<Outcome> {
    const request = parseObject(payload);
    if (!request || typeof request.certificateSigningRequest !== "string") {
      return reject(400, "InvalidPayload", "The request must be a JSON object with certificateSigningRequest (PEM).");
    }
    try {
      const record = await this.options.issuer.createCertificateFromCsr(request.certificateSigningRequest, "PENDING_ACTIVATION", "fleet-provisioning");
      this.options.log(`fleet provisioning: CreateCertificateFromCsr: certificate ${record.certificateId} created PENDING_ACTIVATION for claim ${claim ?? "(none)"}`);
      return {
        ok: true,
        document: { certificateId: record.certificateId, certificatePem: record.certificatePem, certificateOwnershipToken: this.options.tokens.issue(record.certificateId, claim) },
      };
    } catch (error) {
      if (error instanceof AwsError) return reject(400, "InvalidCsr", error.message);
      throw error;
    }
  }

  private async registerThing(name: string, payload: Uint8Array, claim: string | undefined, clientId: string): Promise<Outcome> {
    const { registry, templates, log } = this.options;
    const request = parseObject(payload);
    if (!request) return reject(400, "InvalidPayload", "The request payload is not a JSON object.");
    const token = this.options.tokens.check(request.certificateOwnershipToken, claim);
    if (!token.ok) return reject(400, "InvalidCertificateOwnershipToken", token.reason);
    const parameters = request.parameters ?? {};
    if (typeof parameters !== "object" || parameters === null || Object.values(parameters).some((v) => typeof v !== "string")) {
      return reject(400, "InvalidPayload", "parameters must be an object of string values.");
    }
    const record = templates.list().find((t) => t.templateName === name);
    if (!record || record.type !== "FLEET_PROVISIONING") return reject(404, "ResourceNotFound", `Provisioning template ${name} does not exist.`);
    if (!record.enabled) return reject(403, "TemplateDisabled", `Provisioning template ${name} is disabled.`);
    // AWS's RegisterThing is throttled per account (docs/fleet.md#account-limits); the stand-in
    // answers as the API does, ThrottlingException (429), and the device asks again later.
    const { registrations } = this.options;
    if (registrations && !registrations.tryTake(1, (this.options.now ?? Date.now)())) {
      log(`fleet provisioning: RegisterThing ${name}: throttled (over ${registrations.capacity} per second for the account)`);
      return reject(429, "ThrottlingException", `Rate exceeded: over ${registrations.capacity} RegisterThing requests per second for the account; try again later.`);
    }
    const { certificateId } = token.claims;
    const certificate = registry.certificates.get(certificateId);
    if (!certificate) return reject(400, "InvalidCertificateOwnershipToken", "The certificate of this ownership token no longer exists.");
    let values = { ...(parameters as Record<string, string>) };
    if (record.preProvisioningHook) {
      const { targetArn } = record.preProvisioningHook;
      const answer = await this.options.functions.invoke(targetArn, {
        claimCertificateId: claim, certificateId, certificatePem: certificate.certificatePem, templateArn: record.templateArn, clientId, parameters: values,
      });
      const verdict = answer.ok ? (answer.value as { allowProvisioning?: unknown; parameterOverrides?: Record<string, unknown> } | null) : null;
      if (!answer.ok) log(`fleet provisioning: pre-provisioning hook ${targetArn} failed: ${answer.failure.message}`);
      if (verdict?.allowProvisioning !== true) {
        log(`fleet provisioning: RegisterThing ${name}: certificate ${certificateId} refused by the pre-provisioning hook`);
        return reject(403, "AccessDenied", `The pre-provisioning hook ${targetArn} denied provisioning${answer.ok ? "" : ` (it failed: ${answer.failure.message})`}.`);
      }
      for (const [key, value] of Object.entries(verdict.parameterOverrides ?? {})) values[key] = String(value);
    }
    values = { ...values, "AWS::IoT::Certificate::Id": certificateId };
    const result = evaluateFleetTemplate(templates.body(record), values);
    if (!result.ok) return reject(400, "InvalidParameters", result.reason);
    const plan = { ...result.plan, certificateStatus: result.plan.certificateStatus.toUpperCase() };
    if (plan.certificateId !== undefined && plan.certificateId !== certificateId) {
      return reject(400, "InvalidParameters", `The template's certificate resource names certificate ${plan.certificateId}, not the one of the ownership token: use {"Ref": "AWS::IoT::Certificate::Id"}.`);
    }
    try {
      const applied = applyPlan(registry, plan, certificate);
      log(`fleet provisioning: RegisterThing ${name}: certificate ${certificateId} provisioned: ${applied.summary}`);
      return { ok: true, document: { deviceConfiguration: plan.deviceConfiguration, ...(applied.thingName ? { thingName: applied.thingName } : {}) } };
    } catch (error) {
      if (error instanceof AwsError) return reject(400, "InvalidParameters", error.message);
      throw error;
    }
  }
}

function parseObject(payload: Uint8Array): Record<string, unknown> | undefined {
  const text = Buffer.from(payload).toString("utf8");
  if (text.trim() === "") return {};
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
