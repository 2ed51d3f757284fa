// The MQTT session, steps 4-6 of boot for the MQTT modes: connect (provisioning loop with
// backoff), provisioning remembered per certificate, telemetry over QoS 1, the command topic and
// the features. Boot reaches it as `connection/session`; the MQTT modes' builds (and the
// development build) map that specifier here, a build of another kind of mode maps its own.

import { MqttClient } from "../mqtt/client.js";
import { certificateFingerprint } from "../provisioning/jit.js";
import { createConnectionLoop } from "../provisioning/loop.js";
import { statusPayload, topicsFor } from "../telemetry/messages.js";
import { createTelemetry } from "../telemetry/telemetry.js";
import { isFinal } from "../boot/status.js";
import type { MqttConnection, SessionContext, StartSession } from "./config.js";

/** Preference key (ESP32 NVS: at most 15 characters): the fingerprint of a provisioned certificate. */
export const PROVISIONED_KEY = "provisioned";

export const startSession: StartSession = (context: SessionContext) => {
  const { platform, config: cfg, mode, credentials: creds } = context;
  const link = context.link as MqttConnection;
  const say = (line: string) => platform.log("boot: " + line);
  const { endpoint, port, serverName } = context.connection;
  // Provisioning is remembered per certificate, by the leaf's fingerprint (JITP/JITR only: jit.ts).
  const leaf = creds.certificateChain[0];
  const fingerprint = leaf && certificateFingerprint?.(platform, leaf);
  const remembered = fingerprint !== undefined && platform.storage.get(PROVISIONED_KEY) === fingerprint;
  // Fleet provisioning's certificates (the claim, then the device's own) are ACTIVE before they connect.
  const provisioned = cfg.provisioning === "none" || cfg.provisioning === "fleet" || !mode.clientCertificate || remembered;
  say(`provisioning: ${cfg.provisioning}, ${remembered ? "provisioned before (remembered)" : provisioned ? "not needed" : "not yet"}`);

  const topics = topicsFor(cfg.topicPrefix);
  // The client's events come only once the loop below has started it: telemetry, the features
  // and the loop exist by then.
  const client = new MqttClient(platform, {
    ...cfg,
    ...link, // the CONNECT username and password
    will: context.exclusive ? undefined : { topic: topics.status, payload: statusPayload(cfg.thingName, "offline"), qos: 1 },
  }, {
    onConnected: (info) => connectionLoop.connected(info),
    onMessage: (topic, payload) => {
      if (topic === topics.command) sessionTelemetry.command(payload);
      else sessionFeatures?.message(topic, payload);
    },
    onDisconnected: (f) => connectionLoop.disconnected(f),
  });
  const sessionTelemetry = createTelemetry(platform, cfg, context.sensor, client, context.onAcked);
  // The features' context is the runtime's to build (features/runtime: only builds with features carry it).
  const sessionFeatures = context.startFeatures?.(context, client, sessionTelemetry, stop);
  const connectionLoop = createConnectionLoop(platform, client, link.open, cfg, { provisioned, target: `${endpoint}:${port} (${mode.name}, SNI ${serverName})` }, {
    onStatus: (s) => {
      if (isFinal(s.state)) sessionTelemetry.stop();
      context.report(s);
    },
    // The first reply after CONNACK proves the session is really accepted: only then is the
    // device provisioned (JITP may still close a session right after CONNACK), telemetry flows
    // and the features hear that the session is up. A feature's own session subscribes nothing.
    onSessionUp: () => {
      if (context.exclusive) return sessionFeatures?.sessionUp();
      const filter = topics.command;
      const refused = client.subscribe([{ filter, qos: 1 }], (result) => {
        if (!Array.isArray(result)) return; // the session ended first; the loop decides what next
        say(`subscribe ${filter}: ${result[0] === 0x80 ? "refused by the policy" : "done"}`);
        connectionLoop.markProvisioned();
        sessionTelemetry.start();
        sessionTelemetry.online();
        sessionFeatures?.sessionUp();
      });
      if (refused) say(`subscribe ${filter} not sent: ${refused.code}`);
    },
    onSessionDown: () => {
      sessionTelemetry.offline();
      sessionFeatures?.sessionDown();
    },
    onProvisioned: () => {
      if (fingerprint) platform.storage.set(PROVISIONED_KEY, fingerprint);
    },
  });
  connectionLoop.start();

  function stop(): void {
    sessionTelemetry.stop();
    sessionFeatures?.stop();
    connectionLoop.stop();
  }

  return {
    get attempts() { return connectionLoop.attempts; },
    get provisioned() { return connectionLoop.provisioned; },
    get telemetry() { return sessionTelemetry.stats; },
    stop,
  };
};
