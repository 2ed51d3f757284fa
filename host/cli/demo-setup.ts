// What `npm start` (and the boot-to-telemetry tests) set up around a fresh device: the device
// root CA registered with the stand-in (with the JITP template for jitp, auto-registration
// only for jitr, plain registration for none), a new device key and certificate, and the
// credentials image the firmware reads. Uses the certs library and the AWS control-plane API,
// so every step is one a user could do against a real account.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AttachPolicyCommand, CreatePolicyCommand, CreateTopicRuleCommand, DescribeCACertificateCommand, IoTClient,
  RegisterCertificateCommand, UpdateCertificateCommand,
} from "@aws-sdk/client-iot";
import {
  createCaCommand, createDeviceCommand, createVerificationCommand, deviceContainer, layout, loadCa,
  registerCommand, writeTemplateCommand,
} from "../../certs/commands.js";
import { fromPem } from "../../certs/pki.js";
import type { TemplateField } from "../../certs/template.js";

export type Provisioning = "jitp" | "jitr" | "none";

/** What the setup needs from the stand-in (startIotCore's result satisfies it). */
export interface CoreEndpoints {
  endpoint: string;
  controlUrl: string;
  serverCaPem: string;
  ports: { mqtt: number; https: number };
  broker: { onMessage(listener: (message: { topic: string; payload: Buffer }) => void): () => void };
}

export interface DemoSetupOptions {
  mode: string;
  provisioning: Provisioning;
  /** Certs output directory; one CA per provisioning kind lives under it. */
  outDir: string;
  thingName: string;
  say?: (line: string) => void;
  /** Template fields the CA's JITP template declares (default ["country"]). */
  templateFields?: TemplateField[];
  /** Subject fields given to the device certificate (default country "JP"). */
  subject?: { country?: string; organization?: string };
  /** The stand-in's state directory: JITR's activation function is written to its functions/. */
  iotcoreStateDir: string;
  /** Device config values on top of the demo's (fast backoff in tests...). */
  config?: Record<string, unknown>;
}

export interface DemoSetup {
  thingName: string;
  /** The manifest-style config for boot(). */
  config: Record<string, unknown>;
  /** The credentials image (resource devcreds.bin). */
  image: Uint8Array;
  caCertificateId: string;
  caPem: string;
}

const REGION = "us-east-1";
const ACCOUNT = "123456789012";

export function controlClient(controlUrl: string): IoTClient {
  return new IoTClient({ region: REGION, endpoint: controlUrl, credentials: { accessKeyId: "AKIDLOCALSTANDIN", secretAccessKey: "local-stand-in-secret" } });
}

/** A policy letting one certificate act as its thing (by the certificate's CommonName). */
export function commonNamePolicy(): string {
  const arn = `arn:aws:iot:${REGION}:${ACCOUNT}`;
  const cn = "${iot:Certificate.Subject.CommonName}";
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["iot:Connect"], Resource: [`${arn}:client/${cn}`] },
      { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [`${arn}:topic/${cn}/*`] },
      { Effect: "Allow", Action: ["iot:Subscribe"], Resource: [`${arn}:topicfilter/${cn}/*`] },
    ],
  });
}

/** Rejects with the certs library's or the control plane's error when a step fails. */
export async function prepareDemo(core: CoreEndpoints, options: DemoSetupOptions): Promise<DemoSetup> {
  const say = options.say ?? (() => {});
  const log = (line: string) => say(`   certs   | ${line}`);
  const outDir = join(options.outDir, options.provisioning);
  const iot = controlClient(core.controlUrl);
  try {
    if (!existsSync(layout(outDir).caPem)) {
      say(`   creating the device root CA in ${outDir}`);
      await createCaCommand({ outDir, log });
    }
    const ca = loadCa(outDir);
    const caCertificateId = createHash("sha256").update(ca.certDer).digest("hex");
    if (!(await isRegistered(iot, caCertificateId))) {
      say(`   registering the CA with the stand-in (${options.provisioning === "jitp" ? "JITP template" : options.provisioning === "jitr" ? "auto-registration, no template" : "no auto-registration"})`);
      await createVerificationCommand({ outDir, endpointUrl: core.controlUrl, region: REGION, log });
      if (options.provisioning === "jitp") writeTemplateCommand({ outDir, accountId: ACCOUNT, region: REGION, fields: options.templateFields, log });
      await registerCommand({ outDir, endpointUrl: core.controlUrl, region: REGION, withTemplate: options.provisioning === "jitp", allowAutoRegistration: options.provisioning !== "none", log });
    } else {
      say(`   CA ${caCertificateId.slice(0, 12)}... already registered`);
    }
    if (options.provisioning === "jitr") await installJitrActivation(core, iot, options.iotcoreStateDir, caCertificateId, say);
    say(`   creating device ${options.thingName} (RSA-2048, CommonName = thing name)`);
    const device = await createDeviceCommand({ outDir, thingName: options.thingName, ...(options.subject ?? { country: "JP" }), log });
    if (options.provisioning === "none") await registerDeviceCertificate(iot, device.certPem, ca.certPem);
    const image = deviceContainer({ outDir, thingName: options.thingName, trustedCaPem: [core.serverCaPem], endpoint: "127.0.0.1" });
    const certificateMode = options.mode === "mtls" || options.mode === "mtls-alpn";
    const config: Record<string, unknown> = {
      endpoint: "127.0.0.1",
      serverName: core.endpoint,
      port: options.mode === "mtls" ? core.ports.mqtt : core.ports.https,
      mode: options.mode,
      thingName: options.thingName,
      provisioning: certificateMode ? options.provisioning : "none",
      telemetryIntervalMs: 1000,
      backoffBaseMs: 1000,
      backoffCapMs: 8000,
      provisioningGraceMs: 20_000,
      ...options.config,
    };
    return { thingName: options.thingName, config, image, caCertificateId, caPem: ca.certPem };
  } finally {
    iot.destroy();
  }
}

async function isRegistered(iot: IoTClient, caCertificateId: string): Promise<boolean> {
  try {
    await iot.send(new DescribeCACertificateCommand({ certificateId: caCertificateId }));
    return true;
  } catch (e) {
    if ((e as Error).name === "ResourceNotFoundException") return false;
    throw e;
  }
}

/** Registers the device certificate ACTIVE with a policy (no JIT provisioning). */
async function registerDeviceCertificate(iot: IoTClient, certPem: string, caPem: string): Promise<void> {
  const out = await iot.send(new RegisterCertificateCommand({ certificatePem: certPem, caCertificatePem: caPem, status: "ACTIVE" }));
  await activateWithPolicy(iot, out.certificateId!, out.certificateArn!);
}

/**
 * What seed 002's function does for JITR: activate the certificate and attach a policy.
 * Rejects with the control plane's error.
 */
export async function activateWithPolicy(iot: IoTClient, certificateId: string, certificateArn: string): Promise<void> {
  await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: "ACTIVE" }));
  const policyName = `${certificateId.slice(0, 16)}-policy`;
  await iot.send(new CreatePolicyCommand({ policyName, policyDocument: commonNamePolicy() }));
  await iot.send(new AttachPolicyCommand({ policyName, target: certificateArn }));
}

const JITR_FUNCTION = "jitr-activate";

/**
 * Seed 002's JITR set-up: a function that activates a newly registered certificate and attaches
 * a policy, triggered by a topic rule on the CA's registration events. Idempotent.
 */
async function installJitrActivation(core: CoreEndpoints, iot: IoTClient, iotcoreStateDir: string, caCertificateId: string, say: (line: string) => void): Promise<void> {
  const dir = join(iotcoreStateDir, "functions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${JITR_FUNCTION}.mjs`), `// Activates a JITR certificate and attaches a policy (seed 002's Lambda, in JavaScript).
import { AttachPolicyCommand, CreatePolicyCommand, DescribeCertificateCommand, IoTClient, UpdateCertificateCommand } from "@aws-sdk/client-iot";
const policyDocument = ${JSON.stringify(commonNamePolicy())};
export async function handler(event) {
  const iot = new IoTClient({});
  await iot.send(new UpdateCertificateCommand({ certificateId: event.certificateId, newStatus: "ACTIVE" }));
  const described = await iot.send(new DescribeCertificateCommand({ certificateId: event.certificateId }));
  const policyName = event.certificateId.slice(0, 16) + "-policy";
  await iot.send(new CreatePolicyCommand({ policyName, policyDocument }));
  await iot.send(new AttachPolicyCommand({ policyName, target: described.certificateDescription.certificateArn }));
  return { activated: event.certificateId };
}
`);
  const ruleName = `jitr_${caCertificateId.slice(0, 16)}`;
  try {
    await iot.send(new CreateTopicRuleCommand({
      ruleName,
      topicRulePayload: {
        sql: `SELECT * FROM '$aws/events/certificates/registered/${caCertificateId}' WHERE certificateStatus = "PENDING_ACTIVATION"`,
        actions: [{ lambda: { functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${JITR_FUNCTION}` } }],
      },
    }));
    say(`   topic rule ${ruleName} -> function ${JITR_FUNCTION} activates new certificates`);
  } catch (e) {
    if ((e as Error).name === "ResourceAlreadyExistsException") return;
    if ((e as Error).name !== "UnknownOperationException") throw e;
    // A stand-in without topic rules: play the rule and the function from here, through the
    // same control-plane calls.
    say(`   this stand-in has no topic rules: activating registered certificates from here instead`);
    core.broker.onMessage((message) => {
      if (message.topic !== `$aws/events/certificates/registered/${caCertificateId}`) return;
      const event = JSON.parse(message.payload.toString("utf8")) as { certificateId: string; certificateStatus: string };
      if (event.certificateStatus !== "PENDING_ACTIVATION") return;
      const client = controlClient(core.controlUrl);
      const arn = `arn:aws:iot:${REGION}:${ACCOUNT}:cert/${event.certificateId}`;
      activateWithPolicy(client, event.certificateId, arn)
        .then(() => say(`   activated certificate ${event.certificateId.slice(0, 12)}... with a policy`))
        .catch((error: Error) => say(`   activation failed: ${error.name}: ${error.message}`))
        .finally(() => client.destroy());
    });
  }
}

/** The DER of the first certificate in a PEM text. */
export function firstDer(pem: string): Uint8Array {
  const der = fromPem(pem)[0];
  if (!der) throw new Error("no certificate in PEM");
  return der;
}
