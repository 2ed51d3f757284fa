// Drives the firmware's MQTT client through a connection built by firmware/connection, for
// the connection-mode tests: connect, subscribe, QoS 1 round trips, or the failure it ends in.
import { MqttClient } from "../../firmware/mqtt/client.js";
import type { Failure } from "../../firmware/platform/failure.js";
import type { Platform } from "../../firmware/platform/seam.js";
import type { MqttConnection } from "../../firmware/connection/config.js";

const WAIT_MS = 8000;

function bounded<T>(what: string, arm: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS);
    arm((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

/**
 * Connects, subscribes to `topic` with QoS 1, publishes `count` QoS 1 messages to it, waits
 * for every PUBACK and for every message to come back, then disconnects. Rejects with the
 * Failure's code and message if the connection fails at any point.
 */
export async function roundTrip(platform: Platform, link: MqttConnection, clientId: string, topic: string, count = 3): Promise<string[]> {
  const received: string[] = [];
  let onMessage = () => {};
  let onDown: (f?: Failure) => void = () => {};
  const client = new MqttClient(platform, { clientId, cleanSession: true, keepAliveSeconds: 60, username: link.username, password: link.password }, {
    onConnected: () => connected(),
    onMessage: (t, payload) => {
      if (t === topic) received.push(new TextDecoder().decode(payload));
      onMessage();
    },
    onDisconnected: (f) => onDown(f),
  });
  let connected: () => void = () => {};
  const fail = (reject: (e: Error) => void) => (onDown = (f) => reject(new Error(`disconnected: ${f?.code}: ${f?.message}`)));
  await bounded<void>("CONNACK", (resolve, reject) => {
    connected = resolve;
    fail(reject);
    client.connect(link.open);
  });
  try {
    const granted = await bounded<(0 | 1 | 0x80)[] | Failure>("SUBACK", (resolve, reject) => {
      fail(reject);
      client.subscribe([{ filter: topic, qos: 1 }], resolve);
    });
    if (!Array.isArray(granted) || granted[0] !== 1) throw new Error(`subscription refused: ${JSON.stringify(granted)}`);
    const acked = Array.from({ length: count }, (_, i) => bounded<void>(`PUBACK ${i}`, (resolve, reject) => {
      fail(reject);
      const refused = client.publish(topic, new TextEncoder().encode(`message ${i}`), 1, (f) => (f ? reject(new Error(f.code)) : resolve()));
      if (refused) reject(new Error(refused.code));
    }));
    await Promise.all(acked);
    await bounded<void>("messages back", (resolve, reject) => {
      fail(reject);
      onMessage = () => received.length >= count && resolve();
      onMessage();
    });
  } finally {
    await bounded<void>("disconnect", (resolve) => {
      onDown = () => resolve();
      if (client.connected) client.disconnect();
      else resolve();
    });
  }
  return received;
}

/** Connects and resolves with the Failure the attempt ends in; rejects if it ever connects. */
export function connectFailure(platform: Platform, link: MqttConnection, clientId: string): Promise<Failure | undefined> {
  return bounded<Failure | undefined>("failure", (resolve, reject) => {
    const client = new MqttClient(platform, { clientId, cleanSession: true, keepAliveSeconds: 60, username: link.username, password: link.password }, {
      onConnected: () => {
        client.disconnect();
        reject(new Error("connected, but the attempt was expected to fail"));
      },
      onMessage: () => {},
      onDisconnected: resolve,
    });
    client.connect(link.open);
  });
}
