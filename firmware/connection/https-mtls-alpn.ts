// Mode https-mtls-alpn: HTTPS publish on 443 with ALPN x-amzn-http-ca and the device's X.509
// certificate. A device built with manifests/modes/https-mtls-alpn.json carries this mode and
// the HTTPS session only.

import { ok } from "../platform/failure.js";
import { certificateOnly, httpsLink, type HttpsLink } from "../https/request.js";
import type { ConnectionMode, Endpoint } from "./config.js";

export interface HttpsMtlsAlpnConfig extends Endpoint { mode: "https-mtls-alpn" }

export const httpsMtlsAlpn: ConnectionMode<HttpsMtlsAlpnConfig, Record<never, never>, HttpsLink> = {
  name: "https-mtls-alpn",
  clientCertificate: true,
  port: 443,
  settings: {},
  configure: (endpoint) => ok({ ...endpoint, mode: "https-mtls-alpn" }),
  connect: (config, credentials, platform) => ok(httpsLink(config, credentials, platform, certificateOnly, true, "x-amzn-http-ca")),
};

export const modes = [httpsMtlsAlpn];
