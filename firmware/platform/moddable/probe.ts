// A small entry that proves the Moddable target end to end below the boot sequence: it loads
// the credentials, opens MQTT over SecureSocket with the client certificate, subscribes to
// `<clientId>/probe`, publishes one QoS 1 message to it and reports the round trip.
// Built with manifests/probe.json; config: host, port, serverName, clientId, alpn (optional).

import "./globals.js";
import config from "mc/config";
import { loadCredentials } from "../../credentials/load.js";
import { MqttClient } from "../../mqtt/client.js";
import { flashPartition } from "./flash.js";
import { moddablePlatform } from "./platform.js";
import { resourceLookup } from "./resource.js";

const platform = moddablePlatform(config.preferenceDomain ?? "iotcore");
const log = platform.log;
const topic = `${config.clientId}/probe`;

const loaded = loadCredentials(platform, { partition: flashPartition("devcerts"), resource: resourceLookup });
if (!loaded.ok) {
  log(`probe: ${loaded.failure.code}: ${loaded.failure.message}`);
} else {
  const credentials = loaded.value;
  const client = new MqttClient(platform, { clientId: config.clientId, cleanSession: true, keepAliveSeconds: 60 }, {
    onConnected(info) {
      log(`probe: connected (sessionPresent ${info.sessionPresent})`);
      client.subscribe([{ filter: topic, qos: 1 }], (result) => {
        log(`probe: subscribed ${JSON.stringify(result)}`);
        client.publish(topic, new TextEncoder().encode("hello from Moddable"), 1, (f) => log(`probe: PUBACK ${f ? f.code : "ok"}`));
      });
    },
    onMessage(t, payload, info) {
      log(`probe: message on ${t} qos ${info.qos}: ${new TextDecoder().decode(payload)}`);
      client.disconnect();
    },
    onDisconnected(f) {
      log(`probe: disconnected ${f ? `${f.code}: ${f.message}` : "(orderly)"}`);
    },
  });
  client.connect((events) => platform.openTransport({
    host: config.host,
    port: config.port,
    serverName: config.serverName,
    trustedCa: credentials.trustedCa,
    clientCertificates: credentials.certificateChain,
    clientKey: credentials.clientKey,
    alpn: config.alpn ? [config.alpn] : undefined,
  }, events));
}
