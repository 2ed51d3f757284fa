// What `npm start` (and the boot-to-telemetry tests) set up around a fresh device. Certificate
// modes: the device root CA registered with the stand-in (with the JITP template for jitp,
// auto-registration only for jitr, plain registration for none), a new device key and
// certificate. Custom-auth modes: token-signing keys, an authorizer function and a custom
// authorizer, and a signed token. SigV4: a Cognito identity pool. Always the credentials image
// the firmware reads. Uses the certs library and the AWS control-plane API, so every step is
// one a user could do against a real account.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AttachPolicyCommand, CreateAuthorizerCommand, CreatePolicyCommand, CreateTopicRuleCommand, DescribeCACertificateCommand,
  IoTClient, RegisterCertificateCommand, UpdateAuthorizerCommand, UpdateCertificateCommand,
} from "@aws-sdk/client-iot";
import {
  claimCommand, createAuthorizerKeysCommand, createCaCommand, createDeviceCommand, createVerificationCommand, deviceContainer, layout,
  loadCa, loadDevice, registerCommand, signTokenCommand, writeTemplateCommand,
} from "../../certs/commands.js";
import { CognitoIdentityClient, CreateIdentityPoolCommand, SetIdentityPoolRolesCommand } from "@aws-sdk/client-cognito-identity";
import { CreateRoleCommand, GetRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { encodeImage } from "../../certs/image.js";
import { fromPem } from "../../certs/pki.js";
import { devicePolicy, type TemplateField } from "../../certs/template.js";
import { isCertificateMode, isHttpsMode, type Provisioning } from "./modes.js";

/** What the setup needs from the stand-in (startIotCore's result satisfies it). */
export interface CoreEndpoints {
  endpoint: string;
  controlUrl: string;
  serverCaPem: string;
  ports: { mqtt: number; https: number; httpsMtls: number };
  broker: { onMessage(listener: (message: { topic: string; payload: Buffer }) => void): () => void };
  /** The account's key: the set-up calls the control plane as a user would, signed. */
  accountKey: { accessKeyId: string; secretAccessKey: string };
  cognito: {
    hostName: string;
    createIdentityPool(options: { name: string; policyDocuments: string[]; credentialsLifetimeSeconds?: number }): string;
  };
  auth: { accessKeys: { add(key: { accessKeyId: string; secretAccessKey: string; principal: string; policyDocuments: string[] }): unknown } };
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
  /** Keep a device key and certificate already in `outDir` (a fleet's credentials, made once) instead of making new ones. */
  reuseDevice?: boolean;
  /** The batch-wide set-up (CA registration, JITR's rule, the claim and template) is already done in this stand-in: skip it. */
  batchReady?: boolean;
}

export interface DemoSetup {
  thingName: string;
  /** The manifest-style config for boot(). */
  config: Record<string, unknown>;
  /** The credentials image (resource devcreds.bin). */
  image: Uint8Array;
  /** The device root CA (certificate modes only). */
  caCertificateId?: string;
  caPem?: string;
}

const REGION = "us-east-1";
const ACCOUNT = "123456789012";

export function controlClient(core: Pick<CoreEndpoints, "controlUrl" | "accountKey">): IoTClient {
  const { accessKeyId, secretAccessKey } = core.accountKey;
  return new IoTClient({ region: REGION, endpoint: core.controlUrl, credentials: { accessKeyId, secretAccessKey } });
}

/** A least-privilege policy: connect as client id `thing`, its `<thing>/*` topics and its own shadows only. */
export function thingPolicy(thing: string): string {
  return JSON.stringify(devicePolicy(REGION, ACCOUNT, thing));
}

/** A policy letting one certificate act as its thing (by the certificate's CommonName). */
export function commonNamePolicy(): string {
  return thingPolicy("${iot:Certificate.Subject.CommonName}");
}

/**
 * Rejects with the certs library's or the control plane's error when a step fails, or when a
 * mode without a client certificate is asked for JIT provisioning.
 */
export async function prepareDemo(core: CoreEndpoints, options: DemoSetupOptions): Promise<DemoSetup> {
  if (isCertificateMode(options.mode) && options.provisioning === "fleet") return prepareFleetDevice(core, options);
  if (isCertificateMode(options.mode)) return prepareCertificateDevice(core, options);
  if (options.provisioning !== "none") {
    throw new Error(`mode ${options.mode} has no device certificate, so there is nothing to provision just in time: use provisioning "none"`);
  }
  const say = options.say ?? (() => {});
  say(`   no device certificate in ${options.mode}: the credentials image holds only the server's root CA and the thing name`);
  const image = encodeImage({ chain: [], trustedCa: fromPem(core.serverCaPem), settings: { thingName: options.thingName, endpoint: "127.0.0.1" } });
  const connection = options.mode === "wss-sigv4" || options.mode === "https-sigv4" ? await cognitoConnection(core, options.thingName, options.mode, say)
    : await customAuthConnection(core, options, say);
  return { thingName: options.thingName, config: deviceConfig(core, options, { connection }), image };
}

async function prepareCertificateDevice(core: CoreEndpoints, options: DemoSetupOptions): Promise<DemoSetup> {
  const say = options.say ?? (() => {});
  const log = (line: string) => say(`   certs   | ${line}`);
  const outDir = join(options.outDir, options.provisioning);
  const iot = controlClient(core);
  try {
    if (!options.batchReady) await prepareCa(core, iot, options, outDir, say);
    const files = layout(outDir).device(options.thingName);
    const reuse = options.reuseDevice && existsSync(files.chainPem) && existsSync(files.keyDer);
    if (!reuse) say(`   creating device ${options.thingName} (RSA-2048, CommonName = thing name)`);
    const device = reuse ? loadDevice(options.thingName, outDir) : await createDeviceCommand({ outDir, thingName: options.thingName, ...(options.subject ?? { country: "JP" }), log });
    const ca = loadCa(outDir);
    if (options.provisioning === "none") await registerDeviceCertificate(iot, device.certPem, ca.certPem);
    const image = deviceContainer({ outDir, thingName: options.thingName, trustedCaPem: [core.serverCaPem], endpoint: "127.0.0.1" });
    const caCertificateId = createHash("sha256").update(ca.certDer).digest("hex");
    return { thingName: options.thingName, config: deviceConfig(core, options), image, caCertificateId, caPem: ca.certPem };
  } finally {
    iot.destroy();
  }
}

/** The device root CA (made if missing), registered with the stand-in as the provisioning kind wants; JITR's activation. */
async function prepareCa(core: CoreEndpoints, iot: IoTClient, options: DemoSetupOptions, outDir: string, say: (line: string) => void): Promise<void> {
  const log = (line: string) => say(`   certs   | ${line}`);
  if (!existsSync(layout(outDir).caPem)) {
    say(`   creating the device root CA in ${outDir}`);
    await createCaCommand({ outDir, log });
  }
  const ca = loadCa(outDir);
  const caCertificateId = createHash("sha256").update(ca.certDer).digest("hex");
  if (!(await isRegistered(iot, caCertificateId))) {
    say(`   registering the CA with the stand-in (${options.provisioning === "jitp" ? "JITP template" : options.provisioning === "jitr" ? "auto-registration, no template" : "no auto-registration"})`);
    await createVerificationCommand({ outDir, endpointUrl: core.controlUrl, region: REGION, credentials: core.accountKey, log });
    if (options.provisioning === "jitp") writeTemplateCommand({ outDir, accountId: ACCOUNT, region: REGION, fields: options.templateFields, log });
    await registerCommand({ outDir, endpointUrl: core.controlUrl, region: REGION, credentials: core.accountKey, withTemplate: options.provisioning === "jitp", allowAutoRegistration: options.provisioning !== "none", log });
  } else {
    say(`   CA ${caCertificateId.slice(0, 12)}... already registered`);
  }
  if (options.provisioning === "jitr") await installJitrActivation(core, iot, options.iotcoreStateDir, caCertificateId, say);
}

/** The demo's provisioning template (fleet provisioning by claim). */
export const FLEET_TEMPLATE = "npm-start-fleet";

/**
 * Fleet provisioning: the batch's claim (made once per certs folder through
 * CreateKeysAndCertificate, its policy, the template), and a unit whose image carries the
 * claim and its serial number (`options.thingName`); the thing is `device-<serial>`.
 */
async function prepareFleetDevice(core: CoreEndpoints, options: DemoSetupOptions): Promise<DemoSetup> {
  const say = options.say ?? (() => {});
  const log = (line: string) => say(`   certs   | ${line}`);
  const outDir = join(options.outDir, "fleet");
  const serialNumber = options.thingName;
  if (!options.batchReady) say(`   claim certificate, claim policy and provisioning template ${FLEET_TEMPLATE} (certs claim)`);
  if (!options.batchReady) await claimCommand({ outDir, templateName: FLEET_TEMPLATE, accountId: ACCOUNT, region: REGION, endpointUrl: core.controlUrl, credentials: core.accountKey, log: (line) => { if (!line.startsWith("  aws ")) log(line); } });
  say(`   unit ${serialNumber}: the credentials image carries the claim and the serial number (certs image --claim)`);
  const image = deviceContainer({ outDir, thingName: serialNumber, trustedCaPem: [core.serverCaPem], endpoint: "127.0.0.1", claim: true });
  const config = deviceConfig(core, options, { thingName: "", features: { fleet: { templateName: FLEET_TEMPLATE, serialNumber } } });
  return { thingName: `device-${serialNumber}`, config, image };
}

/** The manifest-style device config: the stand-in's address and name, the demo's pace, then the caller's values. */
function deviceConfig(core: CoreEndpoints, options: DemoSetupOptions, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    endpoint: "127.0.0.1",
    serverName: core.endpoint,
    // The stand-in's "8883" listener for mtls, "8443" for https-mtls, its "443" listener for every other mode.
    port: options.mode === "mtls" ? core.ports.mqtt : options.mode === "https-mtls" ? core.ports.httpsMtls : core.ports.https,
    mode: options.mode,
    thingName: options.thingName,
    provisioning: isCertificateMode(options.mode) ? options.provisioning : "none",
    telemetryIntervalMs: 1000,
    backoffBaseMs: 1000,
    backoffCapMs: 8000,
    provisioningGraceMs: 20_000,
    ...extra,
    ...options.config,
  };
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
 * What the JITR walkthrough's function does: activate the certificate and attach a policy.
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
 * The JITR walkthrough's set-up (docs/aws-iot-core.md): a function that activates a newly registered certificate and attaches
 * a policy, triggered by a topic rule on the CA's registration events. Idempotent.
 */
async function installJitrActivation(core: CoreEndpoints, iot: IoTClient, iotcoreStateDir: string, caCertificateId: string, say: (line: string) => void): Promise<void> {
  const dir = join(iotcoreStateDir, "functions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${JITR_FUNCTION}.mjs`), `// Activates a JITR certificate and attaches a policy (the JITR walkthrough's function, in JavaScript).
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
      const client = controlClient(core);
      const arn = `arn:aws:iot:${REGION}:${ACCOUNT}:cert/${event.certificateId}`;
      activateWithPolicy(client, event.certificateId, arn)
        .then(() => say(`   activated certificate ${event.certificateId.slice(0, 12)}... with a policy`))
        .catch((error: Error) => say(`   activation failed: ${error.name}: ${error.message}`))
        .finally(() => client.destroy());
    });
  }
}

const AUTHORIZER = "npm-start-authorizer";
const AUTHORIZER_FUNCTION = "npm-start-authorizer";
const TOKEN_KEY_NAME = "device-token";
const THING_PLACEHOLDER = "<thing>";

/**
 * Custom authentication as a user sets it up on AWS: a token-signing key pair (kept in
 * `<outDir>/custom-auth/authorizer/`, reused across runs), an authorizer function, a custom
 * authorizer with signing enabled, and the device's token (its thing name) with its signature.
 * Returns the device's `connection` settings; rejects with the certs library's or the control
 * plane's error.
 */
async function customAuthConnection(core: CoreEndpoints, options: DemoSetupOptions, say: (line: string) => void): Promise<Record<string, unknown>> {
  const outDir = join(options.outDir, "custom-auth");
  const keys = layout(outDir);
  let publicKeyPem: string;
  if (existsSync(keys.authorizerKeyPem) && existsSync(keys.authorizerPubPem)) {
    say(`   token-signing key pair: reusing ${keys.authorizerPubPem}`);
    publicKeyPem = readFileSync(keys.authorizerPubPem, "utf8");
  } else {
    say(`   creating the token-signing key pair (RSA-2048); its private half signs tokens off the device`);
    publicKeyPem = (await createAuthorizerKeysCommand({ outDir, log: (line) => say(`   certs   | ${line}`) })).publicKeyPem;
  }
  const file = writeAuthorizerFunction(options.iotcoreStateDir);
  say(`   authorizer function ${AUTHORIZER_FUNCTION} (${file}): a verified token names the thing; answers a policy for client id <thing> and topics <thing>/* only`);
  const iot = controlClient(core);
  try {
    const authorizer = {
      authorizerName: AUTHORIZER,
      authorizerFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${AUTHORIZER_FUNCTION}`,
      tokenKeyName: TOKEN_KEY_NAME,
      tokenSigningPublicKeys: { "npm-start-key": publicKeyPem },
      status: "ACTIVE" as const,
    };
    try {
      await iot.send(new CreateAuthorizerCommand({ ...authorizer, signingDisabled: false }));
      say(`   custom authorizer ${AUTHORIZER} created: signing enabled, token key name ${TOKEN_KEY_NAME}`);
    } catch (e) {
      if ((e as Error).name !== "ResourceAlreadyExistsException") throw e;
      await iot.send(new UpdateAuthorizerCommand(authorizer));
      say(`   custom authorizer ${AUTHORIZER} exists: updated to the current signing key and function`);
    }
  } finally {
    iot.destroy();
  }
  const tokenSignature = signTokenCommand({ outDir, token: options.thingName });
  const carried = options.mode === "custom-auth" ? "in the MQTT username, on 443 with ALPN mqtt"
    : isHttpsMode(options.mode) ? "in each HTTPS publish request's headers, on 443" : "in the WebSocket upgrade's headers, on 443 at GET /mqtt";
  say(`   token "${options.thingName}" signed (RSA-SHA256); the device sends authorizer name, token and signature ${carried}`);
  return { authorizerName: AUTHORIZER, tokenKeyName: TOKEN_KEY_NAME, token: options.thingName, tokenSignature };
}

/** Writes npm start's authorizer function into the stand-in's functions folder; returns its path. Throws on a write error. */
export function writeAuthorizerFunction(iotcoreStateDir: string): string {
  const dir = join(iotcoreStateDir, "functions");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${AUTHORIZER_FUNCTION}.mjs`);
  writeFileSync(file, `// npm start's custom authorizer (a Lambda function on AWS). The token is the device's thing
// name, signed with the key registered on the authorizer; AWS IoT checked that signature before
// calling. The answer lets in that one client id, on the thing's own topics only.
const policyTemplate = ${JSON.stringify(thingPolicy(THING_PLACEHOLDER))};
export async function handler(event) {
  const thing = event.token;
  const clientId = event.protocolData?.mqtt?.clientId;
  const valid = event.signatureVerified === true && typeof thing === "string" && /^[A-Za-z0-9_-]{1,128}$/.test(thing);
  if (!valid || (clientId !== undefined && clientId !== thing)) return { isAuthenticated: false };
  return {
    isAuthenticated: true,
    principalId: thing.replace(/[^A-Za-z0-9]/g, "") || "device",
    disconnectAfterInSeconds: 86400,
    refreshAfterInSeconds: 300,
    policyDocuments: [policyTemplate.split(${JSON.stringify(THING_PLACEHOLDER)}).join(thing)],
  };
}
`);
  return file;
}

/**
 * SigV4 as docs/aws-iot-core.md#sigv4-over-websocket sets it up: a Cognito identity pool with unauthenticated identities whose
 * credentials carry a policy for this thing only. The device gets its credentials itself.
 * Returns the device's `connection` settings.
 */
async function cognitoConnection(core: CoreEndpoints, thingName: string, mode: string, say: (line: string) => void): Promise<Record<string, unknown>> {
  // As a user does on AWS: an IAM role with the device's policy, a pool whose unauthenticated identities get that role.
  const admin = { endpoint: core.controlUrl, credentials: core.accountKey };
  const iam = new IAMClient({ ...admin, region: "us-east-1" });
  const cognito = new CognitoIdentityClient({ ...admin, region: REGION });
  try {
    const name = `npm_start_${thingName.replace(/[^A-Za-z0-9_]/g, "_")}`.slice(0, 64);
    const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Federated: "cognito-identity.amazonaws.com" }, Action: "sts:AssumeRoleWithWebIdentity" }] });
    const roleArn = await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust })).then((r) => r.Role!.Arn!)
      .catch(async (e: Error) => { if (e.name !== "EntityAlreadyExistsException") throw e; return (await iam.send(new GetRoleCommand({ RoleName: name }))).Role!.Arn!; });
    await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "iot", PolicyDocument: thingPolicy(thingName) }));
    const { IdentityPoolId } = await cognito.send(new CreateIdentityPoolCommand({ IdentityPoolName: name, AllowUnauthenticatedIdentities: true }));
    await cognito.send(new SetIdentityPoolRolesCommand({ IdentityPoolId, Roles: { unauthenticated: roleArn } }));
    say(`   IAM role ${roleArn} (aws iam create-role, put-role-policy): client id ${thingName} and topics ${thingName}/* only`);
    say(`   Cognito identity pool ${IdentityPoolId} (aws cognito-identity create-identity-pool, set-identity-pool-roles): unauthenticated identities get that role`);
    say(`   the device calls GetId and GetCredentialsForIdentity at ${core.cognito.hostName} itself, then ${mode === "https-sigv4" ? "signs each POST (SigV4, service iotdata)" : "presigns its WebSocket URL (SigV4, service iotdevicegateway)"}`);
    return { identityPoolId: IdentityPoolId, cognitoEndpoint: core.cognito.hostName, cognitoAddress: "127.0.0.1", cognitoPort: core.ports.https };
  } finally {
    iam.destroy();
    cognito.destroy();
  }
}
