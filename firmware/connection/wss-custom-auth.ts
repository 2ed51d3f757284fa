// Mode wss-custom-auth: MQTT over WebSocket on 443, the custom authorizer's values in the upgrade
// request's headers (or its query string). A device built with
// manifests/modes/wss-custom-auth.json carries this mode only.

import { ok } from "../platform/failure.js";
import { AUTHORIZER_SETTINGS, checkAuthorizer, customAuthPairs, customAuthQuery } from "./authorizer.js";
import type { ConnectionMode, Endpoint, WssCustomAuthConfig } from "./config.js";
import { guarded } from "./stream.js";
import { webSocketOpener } from "./wss.js";

type Settings = Partial<Omit<WssCustomAuthConfig, "mode" | keyof Endpoint>>;

export const wssCustomAuth: ConnectionMode<WssCustomAuthConfig, Settings> = {
  name: "wss-custom-auth",
  clientCertificate: false,
  port: 443,
  settings: { ...AUTHORIZER_SETTINGS, authInQuery: "boolean" },
  configure(endpoint, settings) {
    const checked = checkAuthorizer(settings);
    return checked.ok ? ok({ ...endpoint, ...settings, mode: "wss-custom-auth" }) : checked;
  },
  connect(config, credentials, platform) {
    const webSocket = webSocketOpener(config, credentials, platform);
    const query = config.authInQuery ? customAuthQuery(config) : "";
    const headers = config.authInQuery ? [] : customAuthPairs(config);
    return ok({ open: guarded(platform, (events) => webSocket(query ? "/mqtt?" + query : "/mqtt", headers, events)) });
  },
};

export const modes = [wssCustomAuth];
