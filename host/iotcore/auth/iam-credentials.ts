// Access keys the stand-in knows: long-term keys a test configures, and temporary ones the
// Cognito-style endpoint issues. The SigV4 WebSocket path looks keys up here.

import type { Collection } from "../registry/collection.js";
import type { KnownCredentials } from "./sigv4.js";

export class IamCredentials {
  constructor(private readonly records: Collection<KnownCredentials>, private readonly nowMs: () => number) {}

  /** Adds (or replaces) an access key with the IoT policies that govern its connections. */
  add(credentials: KnownCredentials): KnownCredentials {
    this.prune();
    return this.records.put(credentials.accessKeyId, credentials);
  }

  /** The key, expired temporary keys included (the verifier reports their expiry). */
  lookup(accessKeyId: string): KnownCredentials | undefined {
    return this.records.get(accessKeyId);
  }

  /** A long-term key kept for this principal (e.g. the console's), if one exists. */
  forPrincipal(principal: string): KnownCredentials | undefined {
    return this.records.list().find((c) => c.principal === principal && c.expiresAtMs === undefined);
  }

  /** Forgets temporary keys that expired more than an hour ago, so the file stays small. */
  private prune(): void {
    const horizon = this.nowMs() - 3600_000;
    for (const c of this.records.list()) if (c.expiresAtMs !== undefined && c.expiresAtMs < horizon) this.records.delete(c.accessKeyId);
  }
}
