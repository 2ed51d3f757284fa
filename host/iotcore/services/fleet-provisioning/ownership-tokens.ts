// Certificate ownership tokens: what CreateKeysAndCertificate and CreateCertificateFromCsr
// hand out and RegisterThing takes back. AWS's tokens are opaque, bound to the new
// certificate and expire; here a token is the certificate id, the claim's certificate id and
// the expiry, MACed with a key kept in the state folder, so tokens survive a restart of the
// stand-in as they survive a reconnect on AWS.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// AWS: the certificate ownership token expires after one hour.
export const TOKEN_LIFETIME_MS = 3_600_000;

export interface TokenClaims { certificateId: string; claimCertificateId?: string; expiresAt: number }

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: string };

export class OwnershipTokens {
  private readonly key: Buffer;

  constructor(stateDir: string, private readonly now: () => number) {
    const dir = join(stateDir, "fleet-provisioning");
    const file = join(dir, "token.key");
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, randomBytes(32), { mode: 0o600 });
    }
    this.key = readFileSync(file);
  }

  issue(certificateId: string, claimCertificateId: string | undefined): string {
    const claims: TokenClaims = { certificateId, claimCertificateId, expiresAt: this.now() + TOKEN_LIFETIME_MS };
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return `${body}.${this.mac(body)}`;
  }

  /** Checks the MAC, the expiry and that the token is used on a connection with the same claim. */
  check(token: unknown, claimCertificateId: string | undefined): TokenCheck {
    if (typeof token !== "string" || token === "") return { ok: false, reason: "Certificate ownership token cannot be empty." };
    const [body, mac] = token.split(".");
    const expected = body ? this.mac(body) : "";
    if (!body || !mac || mac.length !== expected.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(expected))) {
      return { ok: false, reason: "Certificate ownership token cannot be validated." };
    }
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as TokenClaims;
    if (this.now() > claims.expiresAt) return { ok: false, reason: "Certificate ownership token has expired: create a new certificate." };
    if (claims.claimCertificateId !== claimCertificateId) return { ok: false, reason: "Certificate ownership token was issued to another connection's certificate." };
    return { ok: true, claims };
  }

  private mac(body: string): string {
    return createHmac("sha256", this.key).update(body).digest("base64url");
  }
}
