// The connection modes and provisioning kinds that `npm start` and `npm run sim` take, and the
// rule between them: only the modes with a client certificate have anything to provision.

export const MODES = ["mtls", "mtls-alpn", "custom-auth", "wss-custom-auth", "wss-sigv4"] as const;
export type Mode = (typeof MODES)[number];

export const PROVISIONING = ["jitp", "jitr", "none"] as const;
export type Provisioning = (typeof PROVISIONING)[number];

/** The modes in which the device holds a client certificate (the others authenticate otherwise). */
export function isCertificateMode(mode: string): boolean {
  return mode === "mtls" || mode === "mtls-alpn";
}

/** The provisioning a command uses when none is asked for: jitp with a certificate, none without. */
export function defaultProvisioning(mode: string): Provisioning {
  return isCertificateMode(mode) ? "jitp" : "none";
}

/** The sentence refusing `--provisioning` for `mode`, or undefined when the pair is valid. */
export function provisioningRefusal(mode: string, provisioning: string): string | undefined {
  if (isCertificateMode(mode) || provisioning === "none") return undefined;
  return `--mode ${mode} connects without a device certificate, so there is nothing to provision just in time: leave out --provisioning or pass --provisioning none`;
}
