// `provisioning/jit` in the builds of the modes that send no device certificate (custom-auth,
// wss-custom-auth, wss-sigv4): such a device is provisioned before it connects, so
// Just-in-Time Provisioning and Registration (jit.ts) never apply to it. The same exports, each
// undefined.

import type * as Jit from "./jit.js";

export const certificateAlertAdvice: typeof Jit.certificateAlertAdvice = undefined;
export const NOT_PROVISIONED_ADVICE: typeof Jit.NOT_PROVISIONED_ADVICE = undefined;
export const certificateFingerprint: typeof Jit.certificateFingerprint = undefined;
