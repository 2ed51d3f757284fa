// AWS IoT Core's device-facing limits as pure checks (docs/aws-iot-core.md#quotas).

export const LIMITS = {
  clientIdBytes: 128,
  topicBytes: 256,
  topicSlashes: 7,
  payloadBytes: 128 * 1024,
  subscriptionsPerConnection: 50,
  filtersPerSubscribe: 8,
  inFlightPerDirection: 100,
  publishesPerSecond: 100,
  bytesPerSecond: 512 * 1024,
  sessionExpiryMs: 3_600_000,
  keepAliveMinSeconds: 30,
  keepAliveMaxSeconds: 1200,
  connectIntervalMs: 1000,
  /** AWS rejects CONNECT requests larger than 128 KB (docs/aws-iot-core.md, "Packet sizes") */
  connectBytes: 128 * 1024,
  /** the largest PUBLISH AWS accepts: topic (2 + 256 bytes), packet id (2), 128 KB payload */
  packetBytes: 2 + 256 + 2 + 128 * 1024,
  /** stand-in choice (AWS documents none; docs/aws-iot-core.md, "Packet sizes"): before CONNACK, one largest CONNECT plus one largest packet */
  preAuthBytes: 128 * 1024 + 2 + 256 + 2 + 128 * 1024,
  /** stand-in choice (AWS documents none; docs/aws-iot-core.md, "Packet sizes"): a connection that sends no CONNECT within 10 s is dropped */
  connectDeadlineMs: 10_000,
  /** stand-in choice (AWS documents none; docs/aws-iot-core.md, "Packet sizes"): a TLS handshake not complete within 10 s is dropped */
  tlsHandshakeMs: 10_000,
} as const;

/**
 * AWS IoT Core's account-level rates (docs/fleet.md#account-limits): each is "per second per
 * account" in AWS's quotas and adjustable on request, so a run may set its own
 * (IotCoreOptions.accountLimits). These defaults are the values AWS's quota tables give.
 */
export interface AccountLimits {
  /** "Connect requests per second per account": 500 (throttled CONNECT: connection dropped, no CONNACK) */
  connectsPerSecond: number;
  /** "Inbound publish requests per second per account": 20,000 (throttled PUBLISH: discarded, no PUBACK) */
  publishesPerSecond: number;
  /** "Subscriptions per second per account" (topic filters, not SUBSCRIBE packets): 500 (throttled filter: SUBACK 0x80) */
  subscriptionsPerSecond: number;
  /**
   * RegisterThing, 10 transactions per second (AWS IoT throttling limits): JITP runs the CA's
   * template through RegisterThing, and fleet provisioning's RegisterThing is the same call.
   * Throttled: JITP leaves the certificate unregistered (the device's next connect tries
   * again); fleet provisioning answers `rejected` with 429 ThrottlingException.
   */
  registrationsPerSecond: number;
}

export const ACCOUNT_LIMITS: Readonly<AccountLimits> = {
  connectsPerSecond: 500,
  publishesPerSecond: 20_000,
  subscriptionsPerSecond: 500,
  registrationsPerSecond: 10,
};

/** One token bucket per account-level rate, a second's worth of burst each (the RateWindow guess). */
export class AccountRates {
  readonly limits: Readonly<AccountLimits>;
  readonly connects: RateWindow;
  readonly publishes: RateWindow;
  readonly subscriptions: RateWindow;
  readonly registrations: RateWindow;
  constructor(limits: Partial<AccountLimits> = {}) {
    this.limits = { ...ACCOUNT_LIMITS, ...limits };
    this.connects = new RateWindow(this.limits.connectsPerSecond, 1000);
    this.publishes = new RateWindow(this.limits.publishesPerSecond, 1000);
    this.subscriptions = new RateWindow(this.limits.subscriptionsPerSecond, 1000);
    this.registrations = new RateWindow(this.limits.registrationsPerSecond, 1000);
  }
}

/** Returns why a client id is refused, or undefined when it is acceptable. */
export function clientIdProblem(clientId: string): string | undefined {
  if (Buffer.byteLength(clientId, "utf8") > LIMITS.clientIdBytes) return `client id longer than ${LIMITS.clientIdBytes} bytes`;
  if (clientId.startsWith("$")) return "client id starts with $";
  return undefined;
}

/** The keep-alive AWS applies: 0 or over 1200 s means 1200 s, under 30 s is raised to 30 s. */
export function clampKeepAlive(requestedSeconds: number): number {
  if (requestedSeconds === 0 || requestedSeconds > LIMITS.keepAliveMaxSeconds) return LIMITS.keepAliveMaxSeconds;
  return Math.max(requestedSeconds, LIMITS.keepAliveMinSeconds);
}

// Device-publishable reserved topics; everything else under `$` is AWS's to publish.
const PUBLISHABLE_RESERVED = [/^\$aws\/things\/[^/]+\/(shadow|jobs|streams|tunnels|defender)\//, /^\$aws\/rules\/[^/]+\//,
  /^\$aws\/certificates\/create(-from-csr)?\//, /^\$aws\/provisioning-templates\/[^/]+\/provision\//, /^\$aws\/sitewise\//];
const SUBSCRIBABLE_RESERVED = [/^\$aws\/things\//, /^\$aws\/events\//, /^\$aws\/certificates\/create(-from-csr)?\//,
  /^\$aws\/provisioning-templates\//, /^\$aws\/sitewise\//, /^\$aws\/defender\//];

/** Returns why a topic (publish) or filter (subscribe) is refused, or undefined. */
export function topicProblem(topic: string, use: "publish" | "subscribe"): string | undefined {
  if (topic.length === 0) return "empty topic";
  if (Buffer.byteLength(topic, "utf8") > LIMITS.topicBytes) return `topic longer than ${LIMITS.topicBytes} bytes`;
  // Basic Ingest's `$aws/rules/<rule>/` prefix does not count toward the slash limit.
  const counted = topic.replace(/^\$aws\/rules\/[^/]+\//, "");
  const slashes = counted.split("/").length - 1;
  if (slashes > LIMITS.topicSlashes) return `topic has ${slashes} slashes, more than ${LIMITS.topicSlashes}`;
  if (topic.startsWith("$")) {
    const allowed = use === "publish" ? PUBLISHABLE_RESERVED : SUBSCRIBABLE_RESERVED;
    if (!allowed.some((pattern) => pattern.test(topic))) return `reserved topic ${topic} cannot be used to ${use}`;
  }
  return undefined;
}

/** Remembers the last CONNECT per client id; refuses more than one per interval. */
export class ConnectRate {
  private readonly last = new Map<string, number>();
  constructor(private readonly intervalMs: number = LIMITS.connectIntervalMs) {}

  /** True when this CONNECT is within the rate (and records it). */
  admit(clientId: string, nowMs: number): boolean {
    const previous = this.last.get(clientId);
    if (previous !== undefined && nowMs - previous < this.intervalMs) return false;
    this.last.set(clientId, nowMs);
    if (this.last.size > 10_000) this.prune(nowMs);
    return true;
  }

  private prune(nowMs: number): void {
    for (const [id, at] of this.last) if (nowMs - at >= this.intervalMs) this.last.delete(id);
  }
}

/**
 * A token bucket: `capacity` units per `windowMs`, refilled continuously, full at first use.
 * AWS states its per-connection rates "per second" without saying how a second is measured;
 * a continuously refilled bucket (a burst of one window's worth, then the steady rate) is the
 * stand-in's guess.
 */
export class RateWindow {
  private level: number;
  private at: number | undefined;
  constructor(readonly capacity: number, readonly windowMs: number) {
    this.level = capacity;
  }

  /** Takes `amount` if it fits now and returns true; returns false (taking nothing) if not. */
  tryTake(amount: number, nowMs: number): boolean {
    this.refill(nowMs);
    if (this.level < amount) return false;
    this.level -= amount;
    return true;
  }

  /** Takes `amount` even beyond the bucket; returns the ms until the debt is paid (0: within the rate). */
  takeOrDelay(amount: number, nowMs: number): number {
    this.refill(nowMs);
    this.level -= amount;
    return this.level >= 0 ? 0 : Math.ceil((-this.level * this.windowMs) / this.capacity);
  }

  private refill(nowMs: number): void {
    if (this.at !== undefined && nowMs > this.at) {
      this.level = Math.min(this.capacity, this.level + ((nowMs - this.at) * this.capacity) / this.windowMs);
    }
    if (this.at === undefined || nowMs > this.at) this.at = nowMs;
  }
}
