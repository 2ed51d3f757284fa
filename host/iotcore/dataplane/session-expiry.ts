// When persistent sessions (CONNECT with cleanSession 0) expire. AWS IoT developer guide, "MQTT
// persistent sessions": the expiry period (1 hour by default, adjustable up to 7 days) starts
// when the broker detects the disconnect (DISCONNECT or timeout); a session not resumed within
// it is terminated and its stored messages are discarded; a later cleanSession 0 CONNECT then
// starts a new session. AWS may keep a session up to 30 minutes longer; the stand-in expires it
// exactly on time, the strictest reading. Time is passed in. With a store (beside the sessions
// themselves, see broker.ts) the clock survives a restart: a session whose connection was open
// when the stand-in stopped counts as disconnected from the next start.

/** Where the disconnect times are kept: client id -> ms, or CONNECTED for an open persistent session. */
export interface ExpiryStore {
  put(clientId: string, value: number): Promise<void>;
  del(clientId: string): Promise<void>;
  iterator(): AsyncIterable<[string, number]>;
}

const CONNECTED = -1;

export class SessionExpiry {
  private readonly since = new Map<string, number>();
  private writes: Promise<unknown> = Promise.resolve();
  constructor(readonly expiryMs: number, private readonly store?: ExpiryStore) {}

  /** Reads the stored times; sessions left open by the last run are disconnected as of `nowMs`. */
  async load(nowMs: number): Promise<void> {
    if (!this.store) return;
    for await (const [clientId, at] of this.store.iterator()) {
      if (at === CONNECTED) this.disconnected(clientId, nowMs);
      else this.since.set(clientId, at);
    }
  }

  /** A persistent session's connection ended at `nowMs`. */
  disconnected(clientId: string, nowMs: number): void {
    this.since.set(clientId, nowMs);
    this.write((store) => store.put(clientId, nowMs));
  }

  /** A connection now holds this client id (the session is resumed, or replaced by a clean one). */
  connected(clientId: string, persistent = false): void {
    this.since.delete(clientId);
    this.write((store) => (persistent ? store.put(clientId, CONNECTED) : store.del(clientId)));
  }

  /** True (and forgets it) when this client id's session has been disconnected for the expiry period. */
  takeIfExpired(clientId: string, nowMs: number): boolean {
    const at = this.since.get(clientId);
    if (at === undefined || nowMs - at < this.expiryMs) return false;
    this.since.delete(clientId);
    this.write((store) => store.del(clientId));
    return true;
  }

  /** Resolves when every stored change so far is written. */
  flush(): Promise<void> {
    return this.writes.then(() => undefined);
  }

  // Writes go one after another, in order; a failed write loses only that time (the session
  // then expires from the next start on, as one left open would).
  private write(change: (store: ExpiryStore) => Promise<void>): void {
    const store = this.store;
    if (store) this.writes = this.writes.then(() => change(store)).catch(() => undefined);
  }

  /** Every expired session's client id (forgotten once returned). */
  takeExpired(nowMs: number): string[] {
    return [...this.since.keys()].filter((clientId) => this.takeIfExpired(clientId, nowMs));
  }
}
