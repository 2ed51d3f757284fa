// The development build's `connection/mode`: every connection mode, chosen at boot by the
// config's `mode`. A device build maps `connection/mode` to one mode's module instead
// (manifests/modes/<mode>.json), so it carries that mode's code only.

import { modes as mtls } from "./mtls.js";
import { modes as mtlsAlpn } from "./mtls-alpn.js";
import { modes as customAuth } from "./custom-auth.js";
import { modes as wssCustomAuth } from "./wss-custom-auth.js";
import { modes as wssSigV4 } from "./wss-sigv4.js";
import type { ConnectionMode } from "./config.js";

export const modes: readonly ConnectionMode[] = [...mtls, ...mtlsAlpn, ...customAuth, ...wssCustomAuth, ...wssSigV4];
