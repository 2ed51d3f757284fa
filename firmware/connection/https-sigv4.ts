// Mode https-sigv4: HTTPS publish on 443 (no ALPN, no client certificate), each request signed
// with SigV4 in its Authorization header as `aws iot-data publish` signs it (service iotdata).
// The credentials and their rules are wss-sigv4's (firmware/sigv4/credentials.ts): temporary ones
// from a Cognito identity pool, fetched before a wake's posts and renewed before they expire, or
// fixed ones (development), refused once expired. A device built with
// manifests/modes/https-sigv4.json carries this mode and the HTTPS session only.

import { ok } from "../platform/failure.js";
import { httpsLink, type HttpsLink } from "../https/request.js";
import { signPost } from "../sigv4/header.js";
import { SIGV4_SETTINGS, sigV4Signer, signingCredentials, type SigV4Settings, type SigV4Signer } from "../sigv4/credentials.js";
import type { SigV4Credentials } from "../sigv4/sign.js";
import type { ConnectionMode, Endpoint } from "./config.js";
import { deferred } from "./stream.js";

export interface HttpsSigV4Config extends Endpoint, SigV4Signer {
  mode: "https-sigv4";
}

export const httpsSigV4: ConnectionMode<HttpsSigV4Config, SigV4Settings, HttpsLink> = {
  name: "https-sigv4",
  clientCertificate: false,
  port: 443,
  settings: SIGV4_SETTINGS,
  configure(endpoint, s) {
    const signer = sigV4Signer(endpoint, s);
    return signer.ok ? ok({ ...endpoint, mode: "https-sigv4", ...signer.value }) : signer;
  },
  connect(config, credentials, platform) {
    const source = signingCredentials(config, credentials, platform);
    // The credentials of the connection being opened: each of its requests is signed with them.
    let signing: SigV4Credentials;
    const link = httpsLink(config, credentials, platform, (path, query, body) => ({
      query: "",
      headers: signPost(platform.crypto, { path, query, host: link.host, region: config.region, body, credentials: signing, now: platform.clock.now() }),
    }));
    const tls = link.open;
    link.open = (events) => deferred(platform, events, (proceed) => source((got) => {
      if ("code" in got) return proceed(got);
      signing = got;
      proceed(tls);
    }));
    return ok(link);
  },
};

export const modes = [httpsSigV4];
