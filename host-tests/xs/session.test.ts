import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleForXs } from "../../host/runtime/xs/bundle.js";
import { createHostPlatform } from "../../host/runtime/xs/host-platform.js";
import { XsRuntime } from "../../host/runtime/xs/runtime.js";
import type { WireHeader } from "../../host/runtime/xs/wire.js";
import { brokerTls, deviceTls, testPki, type TestPki } from "../mqtt/tls-fixture.js";
import { startMosquitto, type Mosquitto } from "../../host/peers/mosquitto.js";
import { waitFor } from "../support/wait.js";

const guest = new URL("./guests/session.guest.ts", import.meta.url);

describe("MQTT session inside XS against mosquitto over mutual TLS", function () {
  this.timeout(30_000);
  let pki: TestPki;
  let broker: Mosquitto;
  let dir: string;
  let runtime: XsRuntime | undefined;
  let reports: { name: string; data: WireHeader }[];
  const seen = (name: string) => reports.filter((r) => r.name === name).map((r) => r.data);

  before(async () => {
    pki = await testPki();
    broker = await startMosquitto(brokerTls(pki));
    dir = mkdtempSync(join(tmpdir(), "xs-session-"));
  });

  beforeEach(async () => {
    reports = [];
    runtime = await XsRuntime.start({
      script: await bundleForXs(guest),
      platform: createHostPlatform({ storageDir: dir, log: () => {} }),
      onReport: (name, data) => void reports.push({ name, data }),
    });
  });

  afterEach(async () => {
    await runtime?.call("disconnect").catch(() => {});
    await runtime?.close();
  });

  after(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function connect(clientId: string, tls = deviceTls(pki, broker.port)): Promise<void> {
    const { trustedCa, clientCertificates, clientKey, ...rest } = tls;
    await runtime!.call("connect", { clientId, tls: rest }, [trustedCa[0], clientCertificates![0], clientCertificates![1], clientKey!]);
  }

  it("connects, subscribes and round-trips 300 QoS 1 messages with none lost or duplicated", async () => {
    await connect("xs-device-1");
    await waitFor("CONNACK", () => seen("connected").length === 1);
    assert.equal((await runtime!.call("subscribe", { filter: "xs/echo" })).result, null);
    await waitFor("SUBACK", () => seen("subscribed").length === 1);
    assert.deepEqual(seen("subscribed")[0], { result: [1] });

    const total = 300;
    for (let first = 0; first < total; first += 50) {
      const { result } = await runtime!.call("publish", { topic: "xs/echo", first, count: 50 });
      assert.deepEqual((result as { refused: string[] }).refused, []);
      await waitFor("PUBACKs", () => seen("acked").length === first + 50);
    }
    await waitFor("the messages back from the broker", () => seen("message").length >= total);

    assert.deepEqual(seen("acked").map((a) => a.n), Array.from({ length: total }, (_, i) => i));
    assert.ok(seen("acked").every((a) => a.code === null));
    const payloads = seen("message").map((m) => m.payload);
    assert.deepEqual([...new Set(payloads)].sort(), Array.from({ length: total }, (_, i) => `message ${i}`).sort());
    assert.ok(seen("message").every((m) => m.topic === "xs/echo" && m.qos === 1));
    assert.deepEqual(seen("disconnected"), []);
  });

  it("reports a server it cannot trust as tls-untrusted-server, through the bridge", async () => {
    await connect("xs-device-2", deviceTls(pki, broker.port, { trustedCa: [pki.strangerCa.certDer] }));
    await waitFor("the connection to fail", () => seen("disconnected").length === 1);
    assert.deepEqual(seen("disconnected"), [{ code: "tls-untrusted-server" }]);
    assert.deepEqual(seen("connected"), []);
  });
});
