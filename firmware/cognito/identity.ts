// Temporary AWS credentials from a Cognito identity pool (unauthenticated identities), as
// docs/aws-iot-core.md#sigv4-over-websocket says: GetId once per pool (the identity id is kept in storage so
// the device keeps its identity across reboots), then GetCredentialsForIdentity whenever the
// credentials in hand are missing or within five minutes of expiring. Each call is one HTTPS
// POST to "/" with a JSON body over the platform's TLS transport (Connection: close), its answer
// read by the HTTPS publish modes' strict response reader (firmware/https/response.ts).

import type { CognitoPool } from "../connection/config.js";
import { failure, type Failure } from "../platform/failure.js";
import type { Platform } from "../platform/seam.js";
import type { SigV4Credentials } from "../sigv4/sign.js";
import { createResponseReader } from "../https/response.js";
import { hostHeader, requestHead, text } from "../websocket/http-head.js";

/** Calls `done` once with credentials or a Failure. */
export type CredentialSource = (done: (credentials: SigV4Credentials | Failure) => void) => void;

/** The fields read from Cognito's JSON answers; the code checks each before it uses it. */
interface CognitoAnswer {
  __type?: string;
  message?: string;
  Message?: string;
  IdentityId?: unknown;
  Credentials?: { AccessKeyId?: string; SecretKey?: string; SessionToken?: string; Expiration?: unknown };
}

const STORAGE_KEY = "cognitoId";
const REFRESH_MARGIN_MS = 300_000;
const TIMEOUT_MS = 15000;

/**
 * A credential source that calls `done` with credentials valid for at least five more
 * minutes, fetching new ones first when needed; or with a Failure: the transport's (TLS)
 * failure, the response reader's ("http-malformed-response", "http-response-too-large",
 * "http-response-truncated"), "http-timeout", "cognito-request-failed" (AWS's error type and
 * message), "cognito-answer-invalid".
 */
export function cognitoCredentials(
  platform: Pick<Platform, "openTransport" | "timers" | "clock" | "storage" | "log">,
  settings: CognitoPool,
  trustedCa: Uint8Array[],
): CredentialSource {
  const { identityPoolId } = settings;
  const { storage, log, timers } = platform;
  // Default: `cognito-identity.<pool region>.amazonaws.com`; a stand-in is dialled at cognitoAddress with that SNI.
  const serverName = settings.cognitoEndpoint ?? `cognito-identity.${identityPoolId.split(":")[0]}.amazonaws.com`;
  const target = { host: settings.cognitoAddress ?? serverName, serverName, port: settings.cognitoPort ?? 443, trustedCa };
  let current: SigV4Credentials | undefined;

  /** Calls `use` with a 200 answer's JSON (false from it: fields missing); `done` with any Failure. */
  function call(operation: string, request: object, done: (f: Failure) => void, use: (json: CognitoAnswer) => false | void): void {
    log("cognito: " + operation);
    const body = new TextEncoder().encode(JSON.stringify(request));
    const reader = createResponseReader(16384);
    let timedOut: Failure | undefined;
    const timer = timers.setTimeout(() => {
      timedOut = failure("http-timeout", `${target.host}: no answer within ${TIMEOUT_MS} ms`, true);
      transport.close();
    }, TIMEOUT_MS);
    const transport = platform.openTransport(target, {
      onOpen() {
        transport.write(requestHead("POST", "/", hostHeader(serverName, target.port), [
          ["Content-Type", "application/x-amz-json-1.1"], ["X-Amz-Target", "AWSCognitoIdentityService." + operation],
          ["Content-Length", "" + body.length], ["Connection", "close"],
        ]), body);
      },
      // Read whole (or refused): nothing more is needed from the connection. The reader reads
      // all the bytes received again at the end, with the same answer.
      onData(bytes) {
        if (reader.feed(bytes)) transport.close();
      },
      onClose(closeFailure) {
        timers.clearTimeout(timer);
        const read = reader.end();
        if ("code" in read) return done(timedOut ?? closeFailure ?? read);
        const { status, body } = read.response;
        let json: CognitoAnswer | undefined;
        try {
          json = JSON.parse(text(body));
        } catch {
          // Not JSON: refused below as an invalid answer.
        }
        if (json && status !== 200) {
          const type = String(json.__type ?? "").replace(/^.*#/, "") || "HTTP " + status;
          // A deleted or foreign identity: forget it so that the next attempt asks for a new one.
          if (/ResourceNotFound|NotAuthorized/.test(type)) storage.remove(STORAGE_KEY);
          return done(failure("cognito-request-failed", `Cognito ${operation} failed: ${type}: ${json.message ?? json.Message ?? ""}; check the identity pool allows unauthenticated identities.`, status >= 500 || /Throttl|TooManyRequests/.test(type)));
        }
        if (!json || use(json) === false) done(failure("cognito-answer-invalid", `Cognito ${operation} answered without the expected fields: check the endpoint.`, true));
      },
    });
  }

  function credentialsFor(IdentityId: string, done: (credentials: SigV4Credentials | Failure) => void): void {
    call("GetCredentialsForIdentity", { IdentityId }, done, ({ Credentials: c }) => {
      if (!c?.AccessKeyId || !c.SecretKey || !c.SessionToken || typeof c.Expiration !== "number") return false;
      current = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken, expiration: c.Expiration * 1000 };
      log(`cognito: temporary credentials valid until ${new Date(current.expiration!).toISOString()}`);
      done(current);
    });
  }

  return (done) => {
    if (current && current.expiration! - platform.clock.now() > REFRESH_MARGIN_MS) return done(current);
    // Kept as "<pool> <identity>": an identity gets its own pool's role, so one kept from another
    // pool (the device was given a new pool) is not reused.
    const [pool, stored] = String(storage.get(STORAGE_KEY)).split(" ");
    if (pool === identityPoolId && stored) return credentialsFor(stored, done);
    call("GetId", { IdentityPoolId: identityPoolId }, done, ({ IdentityId }) => {
      if (typeof IdentityId !== "string") return false;
      storage.set(STORAGE_KEY, identityPoolId + " " + IdentityId);
      credentialsFor(IdentityId, done);
    });
  };
}
