// The connection modes and provisioning kinds that `npm start` and `npm run sim` take, and the
// rule between them: only the modes with a client certificate have anything to provision.

import { oneOf, UsageError } from "./command-line.js";

export const MODES = ["mtls", "mtls-alpn", "custom-auth", "wss-custom-auth", "wss-sigv4", "https-mtls", "https-mtls-alpn", "https-sigv4", "https-custom-auth"] as const;
export type Mode = (typeof MODES)[number];

export const PROVISIONING = ["jitp", "jitr", "fleet", "none"] as const;
export type Provisioning = (typeof PROVISIONING)[number];

/** The modes in which the device holds a client certificate (the others authenticate otherwise). */
export function isCertificateMode(mode: string): boolean {
  return mode === "mtls" || mode === "mtls-alpn" || mode === "https-mtls" || mode === "https-mtls-alpn";
}

/** The HTTPS publish modes: no MQTT session; the device wakes, posts its readings and sleeps. */
export function isHttpsMode(mode: string): boolean {
  return mode.startsWith("https-");
}

/** The provisioning a command uses when none is asked for: jitp with an MQTT certificate mode, none otherwise. */
export function defaultProvisioning(mode: string): Provisioning {
  return isCertificateMode(mode) && !isHttpsMode(mode) ? "jitp" : "none";
}

/**
 * The mode and provisioning kind from `--mode` and `--provisioning` (default `defaultMode` and
 * its default provisioning). Throws UsageError for an unknown value or a pair that does not fit.
 */
export function modeAndProvisioning(values: { mode?: string; provisioning?: string }, defaultMode: Mode): { mode: Mode; provisioning: Provisioning } {
  const mode = oneOf("mode", values.mode ?? defaultMode, MODES);
  const provisioning = oneOf("provisioning", values.provisioning ?? defaultProvisioning(mode), PROVISIONING);
  const refusal = provisioningRefusal(mode, provisioning);
  if (refusal) throw new UsageError(refusal);
  return { mode, provisioning };
}

/** The sentence refusing `--provisioning` for `mode`, or undefined when the pair is valid. */
export function provisioningRefusal(mode: string, provisioning: string): string | undefined {
  if (provisioning === "none") return undefined;
  if (isHttpsMode(mode) && isCertificateMode(mode)) {
    return `--mode ${mode} publishes over HTTPS, where AWS resolves no thing name (no client id), so a JITP template's thing policy could never allow it: the demo registers the certificate beforehand; leave out --provisioning or pass --provisioning none`;
  }
  if (isCertificateMode(mode)) return undefined;
  return `--mode ${mode} connects without a device certificate, so there is nothing to provision just in time: leave out --provisioning or pass --provisioning none`;
}
