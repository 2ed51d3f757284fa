// Fleet provisioning by claim, the device side. A unit boots with the batch's claim
// certificate; on the claim's session it asks for its own key and certificate
// (CreateKeysAndCertificate: Moddable cannot make RSA keys on the device), stores them, calls
// RegisterThing with its serial number and configured parameters, stores the thing name and
// restarts the network with its own certificate; after that certificate's first session the
// claim is never used again. Every step is kept in the store (store.ts), so a power cut
// between two steps resumes where it stopped; a refusal stops the device with the server's
// reason (state "refused", code "fleet-<errorCode>"), never a loop; silence and throttling
// (a batch asking faster than AWS's rate) are asked again after a jittered wait.

import { encodeContainer } from "../../credentials/encode.js";
import { certificateWindows } from "../../credentials/validate.js";
import type { Credentials } from "../../credentials/load.js";
import { credentialsFromContainer } from "../../credentials/load.js";
import { pemBlocks, pkcs8FromPem } from "../../credentials/pem.js";
import type { FeatureContext } from "../feature.js";
import { jsonObject } from "../runtime.js";
import { fail, failure, ok, type Failure, type Result } from "../../platform/failure.js";
import type { Platform } from "../../platform/seam.js";
import { advance, clearStore, loadStore, storeKeys, STORE_PREFIX, type FleetRecord } from "./store.js";

export const CREATE_TOPIC = "$aws/certificates/create/json";
export const registerTopic = (template: string): string => `$aws/provisioning-templates/${template}/provision/json`;

export interface FleetSettings {
  templateName: string;
  /** The unit's serial number (the claim session's client id, RegisterThing's SerialNumber); empty: the image's setting "serialNumber". */
  serialNumber: string;
  /** Further RegisterThing parameters (string values). */
  parameters: Record<string, unknown>;
  /** How long to wait for an answer before asking again. */
  answerTimeoutMs: number;
}

/** The credentials to connect with: the device's own once it has them, else the claim (an exclusive session). */
export function chooseCredentials(loaded: Credentials, platform: Platform, settings: FleetSettings): Result<{ credentials: Credentials; exclusive: boolean }> {
  const log = (line: string) => platform.log("fleet: " + line);
  const stored = loadStore(platform.storage);
  if (stored.ok && stored.value.record.stage !== "keys") {
    const { record, container } = stored.value;
    const own = credentialsFromContainer(platform, container, `fleet credentials in Preference '${STORE_PREFIX}.*'`, "they are provisioned again from the claim", "preference", true);
    if (own.ok) {
      log(`own certificate ${record.certificateId.slice(0, 12)}… as thing ${record.thingName} (${record.stage === "connected" ? "connected before; the claim is not used" : "registered, first connect"})`);
      return ok({ credentials: withSettings(own.value, { ...own.value.settings, thingName: record.thingName! }, loaded.codeSigners), exclusive: false });
    }
    log(`${own.failure.message}: provisioning again with the claim`);
    clearStore(platform.storage);
  } else if (!stored.ok && stored.reason !== "nothing stored") {
    log(`${stored.reason}: provisioning starts over`);
  }
  const serial = settings.serialNumber || loaded.settings.serialNumber || "";
  if (!serial) return fail("config-invalid", "fleet provisioning needs the unit's serial number: set features.fleet.serialNumber in the config or the image setting serialNumber (`npm run certs -- image --setting serialNumber=...`).");
  if (!settings.templateName) return fail("config-invalid", "fleet provisioning needs features.fleet.templateName (the provisioning template the claim may use).");
  log(`claim certificate, client id ${serial}: ${stored.ok ? "own key and certificate stored, registering" : "asking for a key and certificate"}`);
  return ok({ credentials: withSettings(loaded, { ...loaded.settings, thingName: serial }), exclusive: true });
}

/** Runs the claim session's requests (started once per exclusive session) or marks the first own session. */
export function startFleet(context: FeatureContext, settings: FleetSettings, claim: Credentials | undefined): { stop(): void } {
  const { platform, log } = context;
  const storage = platform.storage;
  if (!claim) {
    context.onSessionUp(() => {
      const stored = loadStore(storage);
      if (stored.ok && stored.value.record.stage === "registered") {
        advance(storage, stored.value.record, "connected");
        log(`first session with the device's own certificate as ${stored.value.record.thingName}: the claim is no longer used`);
      }
    });
    return { stop() {} };
  }
  const register = registerTopic(settings.templateName);
  const serial = claim.settings.thingName!;
  let timer: unknown;
  let tries = 0;
  let rounds = 0;
  let tokenRetried = false;
  let finished = false;
  const encoder = new TextEncoder();

  const clearTimer = () => {
    if (timer !== undefined) platform.timers.clearTimeout(timer);
    timer = undefined;
  };
  const finish = (f: Failure) => {
    finished = true;
    clearTimer();
    context.stop(f);
  };
  // A batch asks at once and AWS answers its rate and throttles the rest: silence and throttling
  // mean "ask again later", spread by jitter and growing, never a stop (only refusals stop).
  const later = (ceilingMs: number) => {
    clearTimer();
    timer = platform.timers.setTimeout(next, Math.floor(platform.random() * ceilingMs));
  };
  const send = (topic: string, body: object, what: string) => {
    clearTimer();
    tries += 1;
    if (tries > 3) {
      rounds += 1;
      tries = 0;
      log(`${what}: no answer after 3 requests (a busy server, or a claim policy without ${topic}/accepted and /rejected); asking again later`, 2);
      return later(settings.answerTimeoutMs * 2 ** Math.min(rounds, 6));
    }
    log(`${what} (request ${tries})`);
    const refused = context.publish(topic, encoder.encode(JSON.stringify(body)), 1);
    if (refused) log(`${what} not sent: ${refused.code}`);
    timer = platform.timers.setTimeout(next, settings.answerTimeoutMs);
  };
  const next = () => {
    if (finished) return;
    const stored = loadStore(storage);
    if (stored.ok && stored.value.record.stage === "keys") return registerThing(stored.value.record);
    send(CREATE_TOPIC, {}, "CreateKeysAndCertificate");
  };
  const registerThing = (record: FleetRecord) => {
    const parameters: Record<string, string> = { SerialNumber: serial };
    for (const name in settings.parameters) parameters[name] = String(settings.parameters[name]);
    send(register, { certificateOwnershipToken: record.token, parameters }, `RegisterThing with template ${settings.templateName}, SerialNumber ${serial}`);
  };

  const onCreated = (payload: Uint8Array) => {
    const answer = jsonObject(payload);
    const key = typeof answer?.privateKey === "string" ? pkcs8FromPem(answer.privateKey) : undefined;
    const chain = typeof answer?.certificatePem === "string" ? pemBlocks(answer.certificatePem, "CERTIFICATE") : [];
    const id = answer?.certificateId, token = answer?.certificateOwnershipToken;
    if (!key?.ok || chain.length === 0 || typeof id !== "string" || typeof token !== "string") {
      return finish(failure("fleet-bad-answer", "CreateKeysAndCertificate's answer lacks a PEM key, certificate, id or ownership token."));
    }
    // Their structure is checked here, as the `certs` tool checks an image it writes; the boot
    // that uses them judges the dates from the windows (firmware/credentials/validity.ts).
    const contents = { key: key.value, chain, trustedCa: claim.trustedCa };
    const windows = certificateWindows(contents);
    const container = windows.ok ? encodeContainer({ ...contents, settings: {}, validity: windows.value }) : windows;
    if (!container.ok) return finish(container.failure);
    const record = storeKeys(storage, container.value, id, token);
    log(`own key and certificate ${id.slice(0, 12)}… stored (PENDING_ACTIVATION until registered)`);
    tries = 0;
    registerThing(record);
  };
  const onRegistered = (payload: Uint8Array) => {
    const answer = jsonObject(payload);
    const stored = loadStore(storage);
    const thingName = answer?.thingName;
    if (typeof thingName !== "string" || !stored.ok) return finish(failure("fleet-bad-answer", "RegisterThing's answer names no thing (does the template declare an AWS::IoT::Thing?)."));
    advance(storage, stored.value.record, "registered", thingName);
    finished = true;
    clearTimer();
    log(`registered as thing ${thingName}; device configuration ${JSON.stringify(answer?.deviceConfiguration ?? {})}`);
    context.restart(`registered as ${thingName}: connecting with the device's own certificate`);
  };
  const onRejected = (operation: string, payload: Uint8Array) => {
    const answer = jsonObject(payload) ?? {};
    const status = Number(answer.statusCode), code = String(answer.errorCode ?? "Unknown"), why = String(answer.errorMessage ?? "");
    log(`${operation} rejected: ${status} ${code}: ${why}`);
    if (operation === "RegisterThing" && code === "InvalidCertificateOwnershipToken" && !tokenRetried) {
      // An expired or foreign token: start over with a new key and certificate, once.
      tokenRetried = true;
      clearStore(storage);
      tries = 0;
      return send(CREATE_TOPIC, {}, "CreateKeysAndCertificate");
    }
    if (status >= 500 || code === "ThrottlingException") return later(settings.answerTimeoutMs);
    finish(failure(`fleet-${kebab(code)}`, `${operation} with template ${settings.templateName} refused by the server (${status} ${code}): ${why}`));
  };

  context.subscribe(`${CREATE_TOPIC}/accepted`, 1, (_, p) => onCreated(p));
  context.subscribe(`${CREATE_TOPIC}/rejected`, 1, (_, p) => onRejected("CreateKeysAndCertificate", p));
  context.subscribe(`${register}/accepted`, 1, (_, p) => onRegistered(p));
  context.subscribe(`${register}/rejected`, 1, (_, p) => onRejected("RegisterThing", p));
  context.onSessionUp(() => {
    tries = 0;
    next();
  });
  context.onSessionDown(clearTimer);
  return { stop: () => { finished = true; clearTimer(); } };
}

/** `credentials` with other settings; the code-signing certificates are the image's (the device's own store holds none). */
function withSettings(credentials: Credentials, settings: Record<string, string>, codeSigners = credentials.codeSigners): Credentials {
  const copy = { certificateChain: credentials.certificateChain, trustedCa: credentials.trustedCa, settings, source: credentials.source, codeSigners } as Credentials;
  Object.defineProperty(copy, "clientKey", { value: credentials.clientKey });
  return copy;
}

/** "AccessDenied" -> "access-denied", "InvalidParameters" -> "invalid-parameters". */
function kebab(code: string): string {
  return code.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/[^A-Za-z0-9]+/g, "-").toLowerCase();
}
