// The access keys the stand-in verifies SigV4 against: the account's own key (made at first
// start and written for the AWS CLI), keys of IAM users, and the temporary keys Cognito issues.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Collection } from "../registry/collection.js";
import type { AccessKey, AccessKeys } from "../service.js";

export class AccessKeyStore implements AccessKeys {
  constructor(private readonly records: Collection<AccessKey>, private readonly nowMs: () => number) {}

  /** Adds (or replaces) an access key. */
  add(key: AccessKey): AccessKey {
    this.prune();
    return this.records.put(key.accessKeyId, key);
  }

  /** The key, expired temporary keys included (the verifier reports their expiry). */
  lookup(accessKeyId: string): AccessKey | undefined {
    return this.records.get(accessKeyId);
  }

  remove(accessKeyId: string): void {
    this.records.delete(accessKeyId);
  }

  list(): AccessKey[] {
    return this.records.list();
  }

  /** Forgets temporary keys that expired more than an hour ago, so the file stays small. */
  private prune(): void {
    const horizon = this.nowMs() - 3600_000;
    for (const c of this.records.list()) if (c.expiresAtMs !== undefined && c.expiresAtMs < horizon) this.records.delete(c.accessKeyId);
  }
}

/** A new long-term key pair in AWS's format (AKIA + 16, 40-character secret). */
export function newAccessKeyPair(prefix: "AKIA" | "ASIA" = "AKIA"): { accessKeyId: string; secretAccessKey: string } {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const id = [...randomBytes(16)].map((b) => alphabet[b % 32]).join("");
  return { accessKeyId: `${prefix}${id}`, secretAccessKey: randomBytes(30).toString("base64") };
}

/** The IAM policy of the account's own key: everything, as an account's administrator. */
export const ADMINISTRATOR_POLICY = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

export interface CliFiles { credentialsFile: string; configFile: string; profile: string }

/**
 * The account's administrator key, made once and kept in the key store, written to
 * `<state>/aws/credentials` and `<state>/aws/config` in the AWS CLI's formats (profile
 * `default`; the config carries the region and, for clients that read it, endpoint_url).
 */
export function accountKey(keys: AccessKeyStore, options: { stateDir: string; accountId: string; region: string }): AccessKey {
  const principal = `arn:aws:iam::${options.accountId}:user/administrator`;
  const existing = keys.list().find((k) => k.principal === principal && k.expiresAtMs === undefined);
  return existing ?? keys.add({ ...newAccessKeyPair(), principal, policyDocuments: [ADMINISTRATOR_POLICY] });
}

export function writeCliFiles(stateDir: string, key: AccessKey, region: string, controlUrl: string): CliFiles {
  const dir = join(stateDir, "aws");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const credentialsFile = join(dir, "credentials");
  const configFile = join(dir, "config");
  writeFileSync(credentialsFile, `[default]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`, { mode: 0o600 });
  writeFileSync(configFile, `[default]\nregion = ${region}\noutput = json\nendpoint_url = ${controlUrl}\n`, { mode: 0o600 });
  return { credentialsFile, configFile, profile: "default" };
}
