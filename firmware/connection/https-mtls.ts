// Mode https-mtls: HTTPS publish on 8443 with the device's X.509 certificate (no ALPN). A device
// built with manifests/modes/https-mtls.json carries this mode and the HTTPS session only.

import { ok } from "../platform/failure.js";
import { certificateOnly, httpsLink, type HttpsLink } from "../https/request.js";
import type { ConnectionMode, Endpoint } from "./config.js";

export interface HttpsMtlsConfig extends Endpoint { mode: "https-mtls" }

export const httpsMtls: ConnectionMode<HttpsMtlsConfig, Record<never, never>, HttpsLink> = {
  name: "https-mtls",
  clientCertificate: true,
  port: 8443,
  settings: {},
  configure: (endpoint) => ok({ ...endpoint, mode: "https-mtls" }),
  connect: (config, credentials, platform) => ok(httpsLink(config, credentials, platform, certificateOnly, true)),
};

export const modes = [httpsMtls];
