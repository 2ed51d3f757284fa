// Guest for session.test.ts: our MQTT client inside XS over the bridged node:tls transport.
// Every event goes back to the host with report(), where the test asserts on it.
import { MqttClient } from "../../../firmware/mqtt/client.js";
import type { TlsOptions } from "../../../firmware/platform/seam.js";
import { createXsPlatform, exposeCalls, report } from "../../../host/runtime/xs/guest/bridge.js";

const platform = createXsPlatform();
const decoder = new TextDecoder();
const encoder = new TextEncoder();
let client: MqttClient | undefined;

exposeCalls({
  connect(args, parts) {
    const tls = args.tls as Omit<TlsOptions, "trustedCa" | "clientCertificates" | "clientKey">;
    const options: TlsOptions = { ...tls, trustedCa: [parts[0]], clientCertificates: [parts[1], parts[2]], clientKey: parts[3] };
    client = new MqttClient(platform, { clientId: args.clientId as string, cleanSession: false, keepAliveSeconds: 30 }, {
      onConnected: (info) => void report("connected", info),
      onMessage: (topic, payload, info) => void report("message", { topic, payload: decoder.decode(payload), ...info }),
      onDisconnected: (failure) => void report("disconnected", { code: failure?.code ?? null }),
    });
    client.connect((events) => platform.openTransport(options, events));
  },
  subscribe(args) {
    const refused = client!.subscribe([{ filter: args.filter as string, qos: 1 }], (result) => void report("subscribed", { result: Array.isArray(result) ? result : result.code }));
    return { result: refused?.code ?? null };
  },
  publish(args) {
    const count = args.count as number;
    const refused: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = (args.first as number) + i;
      const failure = client!.publish(args.topic as string, encoder.encode(`message ${n}`), 1, (f) => void report("acked", { n, code: f?.code ?? null }));
      if (failure) refused.push(failure.code);
    }
    return { result: { refused, inFlight: client!.inFlight } };
  },
  disconnect() {
    client?.disconnect();
  },
});
