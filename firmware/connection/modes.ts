// Mode assembly: from a validated connection config, the credentials and the platform, what
// the MQTT client needs: a stream opener (TLS with the mode's ALPN and client certificate, or
// a WebSocket over TLS with custom-auth values or a SigV4 presigned URL) and the CONNECT
// username and password.

import { clockUnset, fail, failure, ok, type Failure, type Result } from "../platform/failure.js";
import type { Platform, TlsOptions, Transport, TransportEvents } from "../platform/seam.js";
import type { OpenStream } from "../mqtt/client.js";
import { openWebSocket } from "../websocket/client.js";
import { hostHeader } from "../websocket/http-head.js";
import { presignPath, type SigV4Credentials } from "../sigv4/presign.js";
import { cognitoCredentials, type CognitoSettings, type CredentialSource } from "../cognito/identity.js";
import { usesClientCertificate } from "../config/config.js";
import type { ConnectionConfig } from "./config.js";
import { customAuthPairs, customAuthQuery, customAuthUsername } from "./custom-auth.js";

/** What firmware/credentials returns (only what connecting needs). */
export interface ConnectionCredentials {
  trustedCa: Uint8Array[];
  clientKey?: Uint8Array;
  certificateChain?: Uint8Array[];
}

export interface MqttConnection {
  /** Opens a fresh stream per connect attempt; refuses (through onClose) with an unset clock. */
  open: OpenStream;
  username?: string;
  password?: Uint8Array;
}

const ALPN: Partial<Record<ConnectionConfig["mode"], string>> = { "mtls-alpn": "x-amzn-mqtt-ca", "custom-auth": "mqtt" };

/**
 * Returns the opener and CONNECT credentials for the config's mode, or a Failure before any
 * network use: "credentials-missing-root-ca" (no trusted CA: even without a client
 * certificate the server must be verified), "credentials-missing-client-certificate" (mtls
 * modes). Attempts made through `open` fail through onClose with "clock-unset",
 * "credentials-expired", the Cognito/HTTP failures, the TLS binding's failures, the WebSocket
 * failures (e.g. "websocket-upgrade-refused"); CONNACK refusals come from the MQTT client.
 */
export function assembleConnection(config: ConnectionConfig, credentials: ConnectionCredentials, platform: Platform): Result<MqttConnection> {
  if (!credentials.trustedCa.length) {
    return fail("credentials-missing-root-ca", "No trusted root CA: add Amazon Root CA 1 to the credentials; every mode verifies the server.");
  }
  const mtls = usesClientCertificate(config.mode);
  if (mtls && (!credentials.clientKey || !credentials.certificateChain?.length)) {
    return fail("credentials-missing-client-certificate", `Mode ${config.mode} needs the device key and certificate: write them, or pick another mode.`);
  }
  const alpn = ALPN[config.mode];
  const tls: TlsOptions = {
    host: config.endpoint,
    port: config.port,
    serverName: config.serverName,
    trustedCa: credentials.trustedCa,
    ...(mtls ? { clientCertificates: credentials.certificateChain, clientKey: credentials.clientKey } : {}),
    ...(alpn ? { alpn: [alpn] } : {}),
  };
  const openTls = (events: TransportEvents) => platform.openTransport(tls, events);
  const host = hostHeader(config.serverName, config.port);
  const webSocket = (path: string, headers: [string, string][], events: TransportEvents) =>
    openWebSocket(platform, openTls, { host, path, protocol: "mqtt", headers }, events);
  const guarded = (start: (events: TransportEvents) => Transport): OpenStream => (events) =>
    platform.clock.isSet() ? start(events) : deferred(platform, events, (proceed) => proceed(clockUnset()));

  switch (config.mode) {
    case "mtls":
    case "mtls-alpn":
      return ok({ open: guarded(openTls) });
    case "custom-auth":
      return ok({
        open: guarded(openTls),
        username: customAuthUsername(config),
        password: config.password === undefined ? undefined : new TextEncoder().encode(config.password),
      });
    case "wss-custom-auth": {
      const query = config.authInQuery ? customAuthQuery(config) : "";
      const headers = config.authInQuery ? [] : customAuthPairs(config);
      return ok({ open: guarded((events) => webSocket(query ? "/mqtt?" + query : "/mqtt", headers, events)) });
    }
    case "wss-sigv4": {
      const source = sigV4Source(config, credentials, platform);
      return ok({
        open: guarded((events) => deferred(platform, events, (proceed) => source((got) => {
          if ("code" in got) return proceed(got);
          if (got.expiration !== undefined && got.expiration <= platform.clock.now()) {
            return proceed(failure("credentials-expired", `The SigV4 credentials of ${got.accessKeyId} have expired: set fresh ones or use a Cognito identity pool.`));
          }
          const path = presignPath(platform.crypto, { host, region: config.region!, credentials: got, now: platform.clock.now(), expiresSeconds: config.presignExpiresSeconds });
          proceed((inner) => webSocket(path, [], inner));
        }))),
      });
    }
  }
}

function sigV4Source(config: ConnectionConfig, credentials: ConnectionCredentials, platform: Platform): CredentialSource {
  if (config.identityPoolId) return cognitoCredentials(platform, config as CognitoSettings, credentials.trustedCa);
  const fixed: SigV4Credentials = {
    accessKeyId: config.accessKeyId!,
    secretAccessKey: config.secretAccessKey!,
    sessionToken: config.sessionToken,
    expiration: config.credentialsExpiration,
  };
  return (done) => done(fixed);
}

/**
 * A Transport whose real stream opens once `prepare` hands over an opener (after fetching
 * credentials), or that closes with the Failure `prepare` gives instead. Never calls
 * `events.onClose` synchronously from inside `open` or `close`.
 */
function deferred(platform: Pick<Platform, "timers">, events: TransportEvents, prepare: (proceed: (next: OpenStream | Failure) => void) => void): Transport {
  let inner: Transport | undefined;
  let closed = false;
  const end = (why?: Failure) => {
    if (closed) return;
    closed = true;
    platform.timers.setTimeout(() => events.onClose(why), 0);
  };
  platform.timers.setTimeout(() => prepare((next) => {
    if (closed) return;
    if (typeof next === "function") inner = next(events);
    else end(next);
  }), 0);
  return {
    write: (bytes, more) => inner?.write(bytes, more),
    close: () => (inner ? inner.close() : end()),
  };
}
