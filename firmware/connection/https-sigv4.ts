// Mode https-sigv4: HTTPS publish on 443 (no ALPN, no client certificate), each request signed
// with SigV4 in its Authorization header as `aws iot-data publish` signs it (service iotdata).
// Credentials are set in the config (an IAM user's keys, or temporary ones with their session
// token and expiry). A device built with manifests/modes/https-sigv4.json carries this mode and
// the HTTPS session only.

import { ok } from "../platform/failure.js";
import { httpsLink, type HttpsLink } from "../https/request.js";
import { signPost } from "../sigv4/header.js";
import type { SigV4Credentials } from "../sigv4/sign.js";
import { badSetting, TEXT, type ConnectionMode, type Endpoint } from "./config.js";

export interface HttpsSigV4Config extends Endpoint {
  mode: "https-sigv4";
  /** The endpoint's region, e.g. "us-east-1". */
  region: string;
  credentials: SigV4Credentials;
}

type Settings = Partial<Omit<SigV4Credentials, "expiration"> & { region: string; credentialsExpiration: number }>;

const AWS_HOST = /\.iot\.([a-z0-9-]+)\.amazonaws\.com$/;

export const httpsSigV4: ConnectionMode<HttpsSigV4Config, Settings, HttpsLink> = {
  name: "https-sigv4",
  clientCertificate: false,
  port: 443,
  settings: { region: TEXT, accessKeyId: TEXT, secretAccessKey: TEXT, sessionToken: TEXT, credentialsExpiration: [0, Number.MAX_SAFE_INTEGER] },
  configure(endpoint, s) {
    const region = s.region ?? AWS_HOST.exec(endpoint.serverName)?.[1] ?? AWS_HOST.exec(endpoint.endpoint)?.[1];
    if (region === undefined || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) return badSetting(s, "region", "must be the endpoint's AWS region, e.g. us-east-1");
    if (!s.accessKeyId) return badSetting(s, "accessKeyId", "must be set with secretAccessKey (the IAM credentials that sign each request)");
    if (!s.secretAccessKey) return badSetting(s, "secretAccessKey", "must be set with accessKeyId");
    const { accessKeyId, secretAccessKey, sessionToken, credentialsExpiration } = s;
    return ok({ ...endpoint, mode: "https-sigv4", region, credentials: { accessKeyId, secretAccessKey, sessionToken, expiration: credentialsExpiration } });
  },
  connect(config, credentials, platform) {
    const link = httpsLink(config, credentials, platform, (path, query, body) => ({
      query: "",
      headers: signPost(platform.crypto, { path, query, host: link.host, region: config.region, body, credentials: config.credentials, now: platform.clock.now() }),
    }));
    return ok(link);
  },
};

export const modes = [httpsSigV4];
