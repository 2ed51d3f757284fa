// Mode wss-sigv4: MQTT over WebSocket on 443, the URL presigned with SigV4 using temporary
// credentials from a Cognito identity pool (or fixed ones, for development; the settings and
// their rules are firmware/sigv4/credentials.ts, shared with https-sigv4). A device built with
// manifests/modes/wss-sigv4.json carries this mode only.

import { ok } from "../platform/failure.js";
import { presignPath } from "../sigv4/presign.js";
import { SIGV4_SETTINGS, sigV4Signer, signingCredentials, type SigV4Settings } from "../sigv4/credentials.js";
import type { ConnectionMode, WssSigV4Config } from "./config.js";
import { deferred } from "./stream.js";
import { webSocketOpener } from "./wss.js";
import { hostHeader } from "../websocket/http-head.js";

type Settings = SigV4Settings & { presignExpiresSeconds?: number };

export const wssSigV4: ConnectionMode<WssSigV4Config, Settings> = {
  name: "wss-sigv4",
  clientCertificate: false,
  port: 443,
  settings: { ...SIGV4_SETTINGS, presignExpiresSeconds: [1, 604800] },
  configure(endpoint, s) {
    const signer = sigV4Signer(endpoint, s);
    return signer.ok ? ok({ ...endpoint, mode: "wss-sigv4", ...signer.value, presignExpiresSeconds: s.presignExpiresSeconds }) : signer;
  },
  connect(config, credentials, platform) {
    const webSocket = webSocketOpener(config, credentials, platform);
    const source = signingCredentials(config, credentials, platform);
    // The signature covers the Host header exactly as the upgrade request sends it.
    const host = hostHeader(config.serverName, config.port);
    return ok({
      open: (events) => deferred(platform, events, (proceed) => source((got) => {
        if ("code" in got) return proceed(got);
        const path = presignPath(platform.crypto, { host, region: config.region, credentials: got, now: platform.clock.now(), expiresSeconds: config.presignExpiresSeconds });
        proceed((inner) => webSocket(path, [], inner));
      })),
    });
  },
};

export const modes = [wssSigV4];
