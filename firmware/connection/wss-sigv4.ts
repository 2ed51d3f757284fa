// Mode wss-sigv4: MQTT over WebSocket on 443, the URL presigned with SigV4 using temporary
// credentials from a Cognito identity pool (or fixed ones, for development). A device built with
// manifests/modes/wss-sigv4.json carries this mode only.

import { failure, ok } from "../platform/failure.js";
import type { Platform } from "../platform/seam.js";
import { presignPath } from "../sigv4/presign.js";
import { cognitoCredentials, type CredentialSource } from "../cognito/identity.js";
import { badSetting, TEXT, type ConnectionCredentials, type ConnectionMode, type WssSigV4Config } from "./config.js";
import { deferred, guarded } from "./stream.js";
import { webSocketOpener } from "./wss.js";
import { hostHeader } from "../websocket/http-head.js";

interface Settings {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  credentialsExpiration?: number;
  identityPoolId?: string;
  cognitoEndpoint?: string;
  cognitoAddress?: string;
  cognitoPort?: number;
  presignExpiresSeconds?: number;
}

const AWS_HOST = /\.iot\.([a-z0-9-]+)\.amazonaws\.com$/;

export const wssSigV4: ConnectionMode<WssSigV4Config, Settings> = {
  name: "wss-sigv4",
  clientCertificate: false,
  port: 443,
  settings: {
    region: TEXT, accessKeyId: TEXT, secretAccessKey: TEXT, sessionToken: TEXT, credentialsExpiration: [0, Number.MAX_SAFE_INTEGER],
    identityPoolId: TEXT, cognitoEndpoint: "host", cognitoAddress: "host", cognitoPort: [1, 65535], presignExpiresSeconds: [1, 604800],
  },
  configure(endpoint, s) {
    const { accessKeyId, secretAccessKey, sessionToken, credentialsExpiration, identityPoolId, cognitoEndpoint, cognitoAddress, cognitoPort } = s;
    const region = s.region ?? AWS_HOST.exec(endpoint.serverName)?.[1] ?? AWS_HOST.exec(endpoint.endpoint)?.[1] ?? /^([a-z0-9-]+):/.exec(identityPoolId ?? "")?.[1];
    if (region === undefined || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) return badSetting(s, "region", "must be the endpoint's AWS region, e.g. us-east-1");
    const config = { ...endpoint, mode: "wss-sigv4" as const, region, presignExpiresSeconds: s.presignExpiresSeconds };
    if (identityPoolId !== undefined) {
      if (accessKeyId !== undefined || secretAccessKey !== undefined) return badSetting(s, "identityPoolId", "or accessKeyId and secretAccessKey must be set, not both");
      if (!/^[a-z0-9-]+:[0-9a-f-]+$/.test(identityPoolId)) return badSetting(s, "identityPoolId", "must look like us-east-1:<uuid>");
      return ok({ ...config, credentials: { identityPoolId, cognitoEndpoint, cognitoAddress, cognitoPort } });
    }
    if (accessKeyId === undefined && secretAccessKey === undefined) return badSetting(s, "identityPoolId", "or accessKeyId and secretAccessKey must be set, not both");
    if (!accessKeyId) return badSetting(s, "accessKeyId", "must be set with the other half of the key");
    if (!secretAccessKey) return badSetting(s, "secretAccessKey", "must be set with the other half of the key");
    return ok({ ...config, credentials: { accessKeyId, secretAccessKey, sessionToken, credentialsExpiration } });
  },
  connect(config, credentials, platform) {
    const webSocket = webSocketOpener(config, credentials, platform);
    const source = credentialSource(config, credentials, platform);
    // The signature covers the Host header exactly as the upgrade request sends it.
    const host = hostHeader(config.serverName, config.port);
    return ok({
      open: guarded(platform, (events) => deferred(platform, events, (proceed) => source((got) => {
        if ("code" in got) return proceed(got);
        if (got.expiration !== undefined && got.expiration <= platform.clock.now()) {
          return proceed(failure("credentials-expired", `The SigV4 credentials of ${got.accessKeyId} have expired: set fresh ones or use a Cognito identity pool.`));
        }
        const path = presignPath(platform.crypto, { host, region: config.region, credentials: got, now: platform.clock.now(), expiresSeconds: config.presignExpiresSeconds });
        proceed((inner) => webSocket(path, [], inner));
      }))),
    });
  },
};

function credentialSource({ credentials: c }: WssSigV4Config, credentials: ConnectionCredentials, platform: Platform): CredentialSource {
  if ("identityPoolId" in c) return cognitoCredentials(platform, c, credentials.trustedCa);
  const fixed = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.credentialsExpiration };
  return (done) => done(fixed);
}

export const modes = [wssSigV4];
