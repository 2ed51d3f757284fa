// The fleet's witness: an mqtt.js client with its own certificate and a persistent session,
// subscribed at QoS 1 to every device's telemetry. It counts each (thing, seq) it receives, so
// the run can tell acknowledged messages that never arrived (lost) from those that arrived
// twice (duplicates, which QoS 1 allows). Its session outlives a stand-in restart, so messages
// published while it reconnects wait for it, as on AWS.

import { connect, type MqttClient } from "mqtt";

export const SUBSCRIBER_CLIENT_ID = "fleet-subscriber";
export const TELEMETRY_FILTER = "+/telemetry";

export interface SubscriberCredentials {
  host: string;
  port: number;
  serverName: string;
  serverCaPem: string;
  certPem: string;
  keyPem: string;
}

export class TelemetrySubscriber {
  /** thing -> seq -> times received */
  private readonly seen = new Map<string, Map<number, number>>();
  received = 0;
  duplicates = 0;
  private constructor(private readonly client: MqttClient) {
    client.on("message", (topic, payload) => this.count(topic, payload));
  }

  /** Connects and subscribes; rejects when the first connection or the subscription fails. */
  static async start(credentials: SubscriberCredentials): Promise<TelemetrySubscriber> {
    const client = connect({
      protocol: "mqtts", host: credentials.host, port: credentials.port, servername: credentials.serverName,
      ca: credentials.serverCaPem, cert: credentials.certPem, key: credentials.keyPem, rejectUnauthorized: true,
      clientId: SUBSCRIBER_CLIENT_ID, clean: false, keepalive: 60,
      // More than AWS's one CONNECT per second per client id, with the TLS handshake on top.
      reconnectPeriod: 2000, connectTimeout: 10_000,
    });
    const subscriber = new TelemetrySubscriber(client);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once("connect", () => resolve());
        client.once("error", reject);
      });
      const granted = await client.subscribeAsync(TELEMETRY_FILTER, { qos: 1 });
      if (granted[0]?.qos !== 1) throw new Error(`the subscriber's subscription to ${TELEMETRY_FILTER} was refused (granted ${JSON.stringify(granted)})`);
      return subscriber;
    } catch (error) {
      // mqtt.js would keep reconnecting in the background.
      await client.endAsync(true);
      throw error;
    }
  }

  private count(topic: string, payload: Buffer): void {
    const thing = topic.slice(0, -"/telemetry".length);
    let seq: number;
    try {
      seq = (JSON.parse(payload.toString("utf8")) as { seq: number }).seq;
    } catch {
      return;
    }
    let seqs = this.seen.get(thing);
    if (!seqs) this.seen.set(thing, (seqs = new Map()));
    const times = seqs.get(seq) ?? 0;
    seqs.set(seq, times + 1);
    if (times === 0) this.received += 1;
    else this.duplicates += 1;
  }

  has(thing: string, seq: number): boolean {
    return (this.seen.get(thing)?.get(seq) ?? 0) > 0;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async stop(): Promise<void> {
    await this.client.endAsync();
  }
}
