// Benchmark guest: firmware work beyond the MQTT client, inside XS: one telemetry cycle (sample,
// drain, QoS 1 publish, PUBACK), the SigV4 presign of the WebSocket URL (hashing by the host,
// as the device's native `crypt` would), the WebSocket framing of one message each way, and the
// Device Shadow feature applying one delta (inbound PUBLISH to the report's PUBACK).

import { MqttClient } from "../../firmware/mqtt/client.js";
import { encodePuback, encodePublish } from "../../firmware/mqtt/encode.js";
import type { Transport, TransportEvents } from "../../firmware/platform/seam.js";
import { presignPath } from "../../firmware/sigv4/presign.js";
import { simulatedSensor } from "../../firmware/telemetry/sensor.js";
import { createTelemetry } from "../../firmware/telemetry/telemetry.js";
import { base64Encode } from "../../firmware/websocket/base64.js";
import { openWebSocket } from "../../firmware/websocket/client.js";
import { createXsPlatform, exposeCalls } from "../runtime/xs/guest/bridge.js";
import { steadyComputrons } from "./xs-meter.js";
import { ManualTime } from "../runtime/manual-time.js";
import { defaultConfig, type DeviceConfig } from "../../firmware/config/config.js";
import type { RunningFeatures } from "../../firmware/features/feature.js";
import { startFeatures } from "../../firmware/features/runtime.js";
import shadowFeature from "../../firmware/features/shadow.js";
import { collect } from "./xs-meter.js";

const encoder = new TextEncoder();
const hostPlatform = createXsPlatform();

function telemetryCycle(): number {
  const timers = new ManualTime(1_750_000_000_000);
  let seed = 1;
  const platform = { clock: timers, timers, log: () => {}, random: () => ((seed = (seed * 16807) % 2147483647) / 2147483647) };
  let stream: TransportEvents | undefined;
  let lastId = 0;
  const transport: Transport = {
    write: (bytes) => { if ((bytes[0] & 0xf6) === 0x32) lastId = readId(bytes); },
    close: () => {},
  };
  const client = new MqttClient(platform, { clientId: "device-001", cleanSession: true, keepAliveSeconds: 1200 }, { onConnected: () => {}, onMessage: () => {}, onDisconnected: () => {} });
  client.connect((events) => ((stream = events), transport));
  stream!.onOpen({});
  stream!.onData(Uint8Array.of(0x20, 2, 0, 0));
  const telemetry = createTelemetry(platform, {
    thingName: "device-001", topicPrefix: "device-001", telemetryIntervalMs: 5000, queueLimit: 100,
    drainPerSecond: 10, maxInFlight: 10,
  }, simulatedSensor(platform.random), client);
  telemetry.start();
  telemetry.online();
  const cycle = () => {
    timers.advance(5000); // sample, then drain: one QoS 1 PUBLISH
    stream!.onData(encodePuback(lastId)); // its PUBACK
    timers.advance(0);
  };
  timers.advance(1000);
  stream!.onData(encodePuback(lastId));
  const figure = steadyComputrons(cycle);
  const { acked, produced } = telemetry.stats;
  if (acked !== 3 || produced !== 3) throw new Error(`telemetry cycle did not complete: ${produced} produced, ${acked} acked`);
  return figure;
}

/** The packet id of an encoded QoS 1 PUBLISH. */
function readId(publish: Uint8Array): number {
  let at = 1;
  while (publish[at] & 0x80) at++;
  const topicEnd = at + 3 + ((publish[at + 1] << 8) | publish[at + 2]);
  return (publish[topicEnd] << 8) | publish[topicEnd + 1];
}

function presign(): number {
  const request = {
    host: "abc123-ats.iot.us-east-1.amazonaws.com",
    region: "us-east-1",
    credentials: { accessKeyId: "ASIAEXAMPLEEXAMPLE01", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+with=chars" },
    now: Date.UTC(2025, 5, 1, 12),
    expiresSeconds: 3600,
  };
  return steadyComputrons(() => presignPath(hostPlatform.crypto, request));
}

function websocketFraming(): number {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const timers = new ManualTime(1_750_000_000_000);
  let inner: TransportEvents | undefined;
  let request = "";
  const socket: Transport = {
    write: (bytes) => { if (!request) request = new TextDecoder().decode(bytes); },
    close: () => {},
  };
  // The platform's SHA-1 (native on the device) stands still here: the framing is what is measured.
  const digest = new Uint8Array(20);
  const ws = openWebSocket({ random, timers, crypto: { sha1: () => digest } }, (events) => ((inner = events), socket), { host: "example.com", path: "/mqtt", protocol: "mqtt" }, {
    onOpen: () => {}, onData: () => {}, onClose: () => {},
  });
  inner!.onOpen({});
  const accept = base64Encode(digest);
  inner!.onData(encoder.encode(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`));
  const publish = encodePublish(encoder.encode("device-001/telemetry"), new Uint8Array(100).fill(0x61), 1, false, false, 1);
  const inbound = new Uint8Array(2 + publish.length);
  inbound[0] = 0x82;
  inbound[1] = publish.length;
  inbound.set(publish, 2);
  return steadyComputrons(() => {
    ws.write(publish);
    inner!.onData(inbound);
  });
}

/**
 * A connected device with the shadow feature, as boot starts it (live fields applied through
 * config/live.ts to telemetry, Preference as an in-memory store like the native one), whose
 * shadow answered its first get. `delta()` then delivers one `update/delta` PUBLISH (QoS 1)
 * with a new interval, lets the coalescing timer fire and acknowledges the report.
 */
function shadowDevice() {
  const timers = new ManualTime(1_750_000_000_000);
  const stored = new Map<string, string | Uint8Array>();
  const storage = { get: (key: string) => stored.get(key), set: (key: string, value: string | Uint8Array) => void stored.set(key, value), remove: (key: string) => void stored.delete(key) };
  const platform = { ...hostPlatform, clock: timers, timers, storage, log: () => {}, random: () => 0.5 };
  let stream: TransportEvents | undefined;
  let lastId = 0;
  let lastPayload = "";
  let publishes = 0;
  const decoder = new TextDecoder();
  const transport: Transport = {
    write: (bytes, more) => {
      if ((bytes[0] & 0xf6) !== 0x32) return;
      publishes++;
      lastId = readId(bytes);
      lastPayload = more ? decoder.decode(more) : "";
    },
    close: () => {},
  };
  const client = new MqttClient(platform, { clientId: "device-001", cleanSession: true, keepAliveSeconds: 1200 }, {
    onConnected: () => {}, onMessage: (topic, payload) => void features.message(topic, payload), onDisconnected: () => {},
  });
  client.connect((events) => ((stream = events), transport));
  stream!.onOpen({});
  stream!.onData(Uint8Array.of(0x20, 2, 0, 0));
  const config: DeviceConfig = { ...defaultConfig, thingName: "device-001", topicPrefix: "device-001", telemetryIntervalMs: 5000 };
  const telemetry = createTelemetry(platform, config, simulatedSensor(platform.random), client);
  const features: RunningFeatures = startFeatures({
    platform, config, mode: { name: "mtls" }, features: [shadowFeature], featureSettings: [{ reportsPerMinute: 60, coalesceMs: 0 }],
    status: () => ({ state: "online", message: "", attempts: 1 }),
    report: () => {},
    restart: () => {},
    stop: () => {},
    credentials: {},
  }, client, telemetry, () => null);
  const base = "$aws/things/device-001/shadow";
  const inbound = (topic: string, body: string, id: number) => stream!.onData(encodePublish(encoder.encode(topic), encoder.encode(body), 1, false, false, id));
  features.sessionUp();
  stream!.onData(Uint8Array.of(0x90, 7, 0, 1, 1, 1, 1, 1, 1)); // SUBACK for the five filters
  const token = /"clientToken":"([^"]+)"/.exec(lastPayload)![1];
  stream!.onData(encodePuback(lastId)); // the get's PUBACK
  inbound(`${base}/get/accepted`, `{"state":{},"metadata":{},"version":1,"timestamp":1750000000,"clientToken":"${token}"}`, 1);
  timers.advance(0); // the first report
  stream!.onData(encodePuback(lastId));
  let version = 1;
  let id = 1;
  return {
    telemetry,
    config,
    get publishes() { return publishes; },
    get lastPayload() { return lastPayload; },
    delta() {
      version++;
      inbound(`${base}/update/delta`, `{"version":${version},"timestamp":1750000000,"state":{"telemetryIntervalMs":${version % 2 ? 2000 : 3000}},"metadata":{"telemetryIntervalMs":{"timestamp":1750000000}}}`, ++id % 60000 + 1);
      timers.advance(0); // the coalesced report
      stream!.onData(encodePuback(lastId)); // its PUBACK
    },
  };
}

function shadowDelta(): number {
  const device = shadowDevice();
  const before = device.publishes;
  const figure = steadyComputrons(() => device.delta());
  if (device.config.telemetryIntervalMs !== 2000) throw new Error(`the delta was not applied: interval ${device.config.telemetryIntervalMs}`);
  if (device.publishes !== before + 2 || !device.lastPayload.includes(`"telemetryIntervalMs":2000`)) throw new Error(`each delta must be answered by one report: ${device.publishes - before} for two, last ${device.lastPayload}`);
  return figure;
}

let heapDevice: ReturnType<typeof shadowDevice> | undefined;

exposeCalls({
  computrons: () => ({ result: { telemetryCycle: telemetryCycle(), presign: presign(), websocketFraming: websocketFraming(), shadowDelta: shadowDelta() } }),
  // Two cranks: a device that has applied a delta (warm), then one more delta: the live heap's growth is what a delta keeps.
  shadowHeapBaseline: () => {
    heapDevice = shadowDevice();
    heapDevice.delta();
    collect();
  },
  shadowHeapAfterDelta: () => {
    heapDevice!.delta();
    collect();
  },
});


