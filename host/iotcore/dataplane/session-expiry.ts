// When persistent sessions (CONNECT with cleanSession 0) expire. AWS IoT developer guide, "MQTT
// persistent sessions": the expiry period (1 hour by default, adjustable up to 7 days) starts
// when the broker detects the disconnect (DISCONNECT or timeout); a session not resumed within
// it is terminated and its stored messages are discarded; a later cleanSession 0 CONNECT then
// starts a new session. AWS may keep a session up to 30 minutes longer; the stand-in expires it
// exactly on time, the strictest reading. Pure: time is passed in.

export class SessionExpiry {
  private readonly since = new Map<string, number>();
  constructor(readonly expiryMs: number) {}

  /** A persistent session's connection ended at `nowMs`. */
  disconnected(clientId: string, nowMs: number): void {
    this.since.set(clientId, nowMs);
  }

  /** A connection now holds this client id (the session is resumed, or replaced by a clean one). */
  connected(clientId: string): void {
    this.since.delete(clientId);
  }

  /** True (and forgets it) when this client id's session has been disconnected for the expiry period. */
  takeIfExpired(clientId: string, nowMs: number): boolean {
    const at = this.since.get(clientId);
    if (at === undefined || nowMs - at < this.expiryMs) return false;
    this.since.delete(clientId);
    return true;
  }

  /** Every expired session's client id (forgotten once returned). */
  takeExpired(nowMs: number): string[] {
    return [...this.since.keys()].filter((clientId) => this.takeIfExpired(clientId, nowMs));
  }
}
