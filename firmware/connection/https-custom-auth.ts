// Mode https-custom-auth: HTTPS publish on 443 (no ALPN, no client certificate), the custom
// authorizer's name, token and signature in each request's headers (or its query string), as
// AWS documents them for HTTP. A device built with manifests/modes/https-custom-auth.json carries
// this mode and the HTTPS session only.

import { ok } from "../platform/failure.js";
import { httpsLink, type HttpsLink } from "../https/request.js";
import { AUTHORIZER_SETTINGS, checkAuthorizer, customAuthPairs, customAuthQuery } from "./authorizer.js";
import type { AuthorizerSettings, ConnectionMode, Endpoint } from "./config.js";

export interface HttpsCustomAuthConfig extends Endpoint, AuthorizerSettings {
  mode: "https-custom-auth";
  /** Send the authorizer values in the query string instead of headers. */
  authInQuery?: boolean;
}

type Settings = Partial<Omit<HttpsCustomAuthConfig, "mode" | keyof Endpoint>>;

export const httpsCustomAuth: ConnectionMode<HttpsCustomAuthConfig, Settings, HttpsLink> = {
  name: "https-custom-auth",
  clientCertificate: false,
  port: 443,
  settings: { ...AUTHORIZER_SETTINGS, authInQuery: "boolean" },
  configure(endpoint, settings) {
    const checked = checkAuthorizer(settings);
    return checked.ok ? ok({ ...endpoint, ...settings, mode: "https-custom-auth" }) : checked;
  },
  connect(config, credentials, platform) {
    const auth = config.authInQuery ? { query: customAuthQuery(config), headers: [] } : { query: "", headers: customAuthPairs(config) };
    return ok(httpsLink(config, credentials, platform, () => auth));
  },
};

export const modes = [httpsCustomAuth];
