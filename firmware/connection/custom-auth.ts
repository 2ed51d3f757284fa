// Mode custom-auth: MQTT over TLS on 443 with ALPN `mqtt`, no device certificate: the custom
// authorizer's values travel in the CONNECT username (docs/aws-iot-core.md#custom-authentication).
// A device built with manifests/modes/custom-auth.json carries this mode only.

import { ok } from "../platform/failure.js";
import { AUTHORIZER_SETTINGS, checkAuthorizer, customAuthUsername } from "./authorizer.js";
import { TEXT, type ConnectionMode, type CustomAuthConfig, type Endpoint } from "./config.js";
import { guarded, tlsOpener } from "./stream.js";

type Settings = Partial<Omit<CustomAuthConfig, "mode" | keyof Endpoint>>;

export const customAuth: ConnectionMode<CustomAuthConfig, Settings> = {
  name: "custom-auth",
  clientCertificate: false,
  port: 443,
  settings: { ...AUTHORIZER_SETTINGS, username: TEXT, password: TEXT },
  configure(endpoint, settings) {
    const checked = checkAuthorizer(settings);
    return checked.ok ? ok({ ...endpoint, ...settings, mode: "custom-auth" }) : checked;
  },
  connect: (config, credentials, platform) => ok({
    open: guarded(platform, tlsOpener(config, credentials, platform, "mqtt")),
    username: customAuthUsername(config),
    password: config.password === undefined ? undefined : new TextEncoder().encode(config.password),
  }),
};

export const modes = [customAuth];
