// What the device checks of its credentials at each boot, before any network use: the key and
// certificate chain both present (or both absent where the mode allows), a trusted root CA, and
// each certificate within its validity window by the platform clock. The structure of the
// certificates and the key was checked when the image was written (validate.ts); their windows
// come from the image's validity entry (format.ts). Failure messages never show the key.

import { clockUnset, failure, type Failure } from "../platform/failure.js";
import type { Clock } from "../platform/seam.js";

/** A certificate's validity window, epoch milliseconds. */
export interface Validity {
  notBefore: number;
  notAfter: number;
}

export const REISSUE = "; reissue it (`npm run certs -- device`) and rewrite the image";

/**
 * Undefined when the key and chain are both present (both absent is allowed unless
 * `requireClientCertificate`) and there is a trusted CA; else the Failure
 * "credentials-incomplete" or "credentials-no-trusted-ca".
 */
export function checkPresence(key: Uint8Array | undefined, chainLength: number, trustedCaCount: number, requireClientCertificate: boolean): Failure | undefined {
  if ((key !== undefined) !== chainLength > 0 || (requireClientCertificate && !key)) {
    return failure("credentials-incomplete", "the device key and certificate chain must both be present" + REISSUE);
  }
  if (!trustedCaCount) return failure("credentials-no-trusted-ca", "no trusted root CA; add the server's (Amazon Root CA 1) with `--trusted-ca`");
}

/**
 * Undefined when every window (chain first, then the trusted CAs) holds the clock's now; else
 * the Failure "clock-unset" (retryable: dates cannot be judged yet), "credentials-not-yet-valid"
 * or "credentials-expired", naming the certificate, its date and now.
 */
export function checkDates(windows: readonly Validity[], chainLength: number, clock: Clock): Failure | undefined {
  if (!clock.isSet()) return clockUnset();
  const now = clock.now();
  for (let i = 0; i < windows.length; i++) {
    const { notBefore, notAfter } = windows[i]!;
    const what = describe(i, chainLength);
    const fix = i < chainLength ? REISSUE : "; replace it with a current root CA";
    const early = now < notBefore;
    if (early || now > notAfter) {
      return failure(early ? "credentials-not-yet-valid" : "credentials-expired",
        `${what} ${early ? "is not valid before" : "expired on"} ${iso(early ? notBefore : notAfter)} (now ${iso(now)})${early ? ": check the clock" : ""}${fix}`);
    }
  }
}

/** "the device certificate", "chain certificate 2", "trusted CA 1" for entry `index`. */
export function describe(index: number, chainLength: number): string {
  return !index && chainLength ? "the device certificate" : index < chainLength ? `chain certificate ${index + 1}` : `trusted CA ${index - chainLength + 1}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
