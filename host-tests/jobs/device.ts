// An mqtt.js device for the Jobs and streams tests: connected with its own certificate and a
// policy giving it its own jobs and streams topics only, it records what it receives and sends
// requests whose answers it awaits.
import type { MqttClient } from "mqtt";
import type { IotCore } from "../../host/iotcore/index.js";
import { connectMtls, registeredDevice, subscribeCodes } from "../iotcore/helpers.js";

/** A message as received: its payload, and the payload read as JSON (`{raw}` when it is not JSON). */
export interface Received { topic: string; body: Record<string, unknown>; payload: Buffer }

/** connect as the thing; publish, subscribe and receive on its own jobs and streams topics */
export function jobsPolicy(region: string, accountId: string, thing: string): string {
  const arn = `arn:aws:iot:${region}:${accountId}`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: ["iot:Connect"], Resource: [`${arn}:client/${thing}`] },
      { Effect: "Allow", Action: ["iot:Publish", "iot:Receive"], Resource: [`${arn}:topic/$aws/things/${thing}/jobs/*`, `${arn}:topic/$aws/things/${thing}/streams/*`] },
      { Effect: "Allow", Action: ["iot:Subscribe"], Resource: [`${arn}:topicfilter/$aws/things/${thing}/jobs/*`, `${arn}:topicfilter/$aws/things/${thing}/streams/*`] },
    ],
  });
}

export class TestDevice {
  readonly seen: Received[] = [];

  private constructor(readonly thing: string, readonly client: MqttClient) {
    client.on("message", (topic, payload) => {
      let body: Record<string, unknown>;
      try { body = payload.length ? JSON.parse(payload.toString()) as Record<string, unknown> : {}; } catch { body = { raw: payload.toString() }; }
      this.seen.push({ topic, body, payload });
    });
  }

  /** Registers the thing with its certificate and the jobs policy, connects and subscribes to `filters` under its prefix. */
  static async connect(core: IotCore, thing: string, filters = ["jobs/#"]): Promise<TestDevice> {
    const issued = await registeredDevice(core, thing, [jobsPolicy(core.region, core.accountId, thing)], thing);
    const { client, connack } = await connectMtls(core, issued, { clientId: thing });
    if ((connack?.returnCode ?? -1) !== 0) throw new Error(`${thing} could not connect: ${JSON.stringify(connack)}`);
    const device = new TestDevice(thing, client);
    const codes = await subscribeCodes(client, Object.fromEntries(filters.map((f) => [`$aws/things/${thing}/${f}`, { qos: 1 as const }])));
    if (codes.some((c) => c === 0x80)) throw new Error(`${thing}: subscription refused`);
    return device;
  }

  /** The first message (from index `from` of those seen) on `topic` (or one of `topic`) that satisfies `match`, within `ms`. */
  async next(topic: string | string[], match: (body: Record<string, unknown>) => boolean = () => true, ms = 5000, from = 0): Promise<Received> {
    const topics = typeof topic === "string" ? [topic] : topic;
    const end = Date.now() + ms;
    for (;;) {
      const found = this.seen.slice(from).find((m) => topics.includes(m.topic) && match(m.body));
      if (found) return found;
      if (Date.now() > end) throw new Error(`${this.thing}: nothing on ${topics.join(" or ")} within ${ms} ms; seen: ${JSON.stringify(this.seen.map((m) => m.topic))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Publishes `body` on `$aws/things/<thing>/<suffix>` with a fresh clientToken and resolves its accepted or rejected answer. */
  async request(suffix: string, body: Record<string, unknown> | string = {}, thing = this.thing): Promise<{ accepted: boolean; body: Record<string, unknown> }> {
    const token = `t${Math.random().toString(36).slice(2, 10)}`;
    const payload = typeof body === "string" ? body : JSON.stringify({ ...body, clientToken: token });
    const topic = `$aws/things/${thing}/${suffix}`;
    const from = this.seen.length;
    this.client.publish(topic, payload, { qos: 1 });
    const match = typeof body === "string" ? () => true : (b: Record<string, unknown>) => b.clientToken === token;
    const answer = await this.next([`${topic}/accepted`, `${topic}/rejected`], match, 5000, from);
    return { accepted: answer.topic.endsWith("/accepted"), body: answer.body };
  }
}
