// The TLS listeners (ALPN routing on 443, SNI, HTTPS hook), mosquitto clients on 8883, and
// fault injection (drop at handshake / after CONNECT / before PUBACK, restart, pause).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import { createRootCa, issueCertificate, type Issued } from "../../certs/pki.js";
import { ALLOW_ALL, closed, connectMtls, endClient, registeredDevice, run, startCore, tempDir, waitFor } from "./helpers.js";

type Core = Awaited<ReturnType<typeof startCore>>;

function tlsOutcome(core: Core, options: tls.ConnectionOptions): Promise<{ alpn?: string | false | null; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port: core.ports.https, ca: core.serverCaPem, ...options });
    const timer = setTimeout(() => { socket.destroy(); resolve({ error: "timeout" }); }, 5000);
    socket.once("secureConnect", () => { clearTimeout(timer); const alpn = socket.alpnProtocol; socket.destroy(); resolve({ alpn }); });
    socket.once("error", (error) => { clearTimeout(timer); resolve({ error: error.message }); });
  });
}

describe("data plane listeners and fault injection", function () {
  const dir = tempDir("listeners");
  let core: Core;
  let ca: Issued, device: Issued, otherServer: Issued;

  before(async () => {
    core = await startCore(join(dir.path, "state"));
    ca = await createRootCa({ subject: { commonName: "Listener CA" } });
    [device, otherServer] = await Promise.all([
      registeredDevice(core, "listener-device"),
      issueCertificate({ issuer: ca, subject: { commonName: "iot.example.test" }, kind: "server", dnsNames: ["iot.example.test"] }),
    ]);
    writeFileSync(join(dir.path, "ca.pem"), core.serverCaPem);
    writeFileSync(join(dir.path, "device.pem"), device.certPem);
    writeFileSync(join(dir.path, "device.key"), device.key.privateKeyPem);
  });
  afterEach(() => core.faults.clear());
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("serves MQTT with client certificates on 443 when the client offers ALPN x-amzn-mqtt-ca", async () => {
    const result = await connectMtls(core, device, { clientId: "alpn-device", port: core.ports.https, ALPNProtocols: ["x-amzn-mqtt-ca"] });
    assert.equal(result.connack?.returnCode, 0);
    await endClient(result.client);
  });

  it("routes ALPN mqtt on 443 to the custom-auth authenticator and uses its principal or refusal", async () => {
    const previous = core.dataPlane.authenticators.get("mqtt-custom-auth");
    core.dataPlane.authenticators.set("mqtt-custom-auth", async (attempt) =>
      attempt.username === "good" ? { ok: true, principal: { kind: "custom-authorizer", id: "p1", policies: [ALLOW_ALL] } } : { ok: false, refuse: 5, reason: "bad token" });
    try {
      const ok = await connectMtls(core, undefined, { clientId: "ca-1", port: core.ports.https, ALPNProtocols: ["mqtt"], username: "good" });
      assert.equal(ok.connack?.returnCode, 0);
      await endClient(ok.client);
      const refused = await connectMtls(core, undefined, { clientId: "ca-2", port: core.ports.https, ALPNProtocols: ["mqtt"], username: "bad" });
      assert.equal(refused.connack?.returnCode, 5);
      await endClient(refused.client);
    } finally {
      if (previous) core.dataPlane.authenticators.set("mqtt-custom-auth", previous);
      else core.dataPlane.authenticators.delete("mqtt-custom-auth");
    }
  });

  it("answers HTTPS on 443 without ALPN or with http/1.1, through the registered handler", async () => {
    core.dataPlane.onHttpsRequest((request, response, info) => {
      if (request.url !== "/hello") return false;
      response.end(JSON.stringify({ sni: info.serverName, alpn: info.alpn }));
      return true;
    });
    assert.equal((await tlsOutcome(core, { servername: core.endpoint, ALPNProtocols: ["http/1.1"] })).alpn, "http/1.1");
    const body = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port: core.ports.https, ca: core.serverCaPem, servername: core.endpoint }, () => {
        socket.write(`GET /hello HTTP/1.1\r\nhost: ${core.endpoint}\r\nconnection: close\r\n\r\n`);
      });
      let text = "";
      socket.on("data", (chunk) => { text += chunk; });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    assert.match(body, /^HTTP\/1.1 200/);
    assert.match(body, new RegExp(`"sni":"${core.endpoint}","alpn":null`));
  });

  it("refuses an SNI it does not serve, and serves one once its certificate is added", async () => {
    const refused = await tlsOutcome(core, { servername: "iot.example.test", ca: ca.certPem });
    assert.ok(refused.error, "unknown SNI must fail the handshake");
    core.dataPlane.addServerName("iot.example.test", { key: otherServer.key.privateKeyPem, cert: otherServer.certPem });
    const served = await tlsOutcome(core, { servername: "iot.example.test", ca: ca.certPem, ALPNProtocols: ["x-amzn-mqtt-ca"] });
    assert.equal(served.alpn, "x-amzn-mqtt-ca");
  });

  it("carries a message from mosquitto_pub to mosquitto_sub over 8883 with client certificates", async () => {
    const common = ["--cafile", "ca.pem", "--cert", "device.pem", "--key", "device.key", "-h", "localhost", "-p", String(core.ports.mqtt)];
    const sub = run("mosquitto_sub", [...common, "-i", "mosq-sub", "-t", "mosq/topic", "-q", "1", "-C", "1", "-W", "10"], { cwd: dir.path });
    assert.ok(await waitFor(() => core.lines.some((l) => /subscribe allowed: client mosq-sub/.test(l))));
    const pub = await run("mosquitto_pub", [...common, "-i", "mosq-pub", "-t", "mosq/topic", "-q", "1", "-m", "hello from mosquitto"], { cwd: dir.path });
    assert.equal(pub.code, 0, pub.stderr);
    const received = await sub;
    assert.equal(received.code, 0, received.stderr);
    assert.equal(received.stdout.trim(), "hello from mosquitto");
  });

  it("drops a connection during the TLS handshake when told to", async () => {
    core.faults.drop("handshake");
    const result = await connectMtls(core, device, { clientId: "f-handshake" });
    assert.equal(result.closedBeforeConnack, true);
    await endClient(result.client);
    const next = await connectMtls(core, device, { clientId: "f-handshake" });
    assert.equal(next.connack?.returnCode, 0, "the fault fires once");
    await endClient(next.client);
  });

  it("drops a connection right after CONNECT, for the chosen client id only", async () => {
    core.faults.drop("after-connect", { clientId: "victim" });
    const bystander = await connectMtls(core, device, { clientId: "bystander" });
    assert.equal(bystander.connack?.returnCode, 0);
    const victim = await connectMtls(core, device, { clientId: "victim" });
    assert.equal(victim.closedBeforeConnack, true);
    await endClient(bystander.client);
    await endClient(victim.client);
  });

  it("drops a connection before the PUBACK of a QoS 1 publish, which is then not delivered", async () => {
    const watcher = await connectMtls(core, device, { clientId: "f-watcher" });
    const seen: string[] = [];
    watcher.client.on("message", (_t, payload) => seen.push(payload.toString()));
    await watcher.client.subscribeAsync("f/puback", { qos: 1 });
    core.faults.drop("before-puback", { clientId: "f-publisher" });
    const { client } = await connectMtls(core, device, { clientId: "f-publisher" });
    const gone = closed(client);
    let acked = false;
    client.publish("f/puback", "lost", { qos: 1 }, () => { acked = true; });
    assert.equal(await gone, true);
    assert.equal(acked, false);
    await endClient(client);
    const again = await connectMtls(core, device, { clientId: "f-publisher" });
    await again.client.publishAsync("f/puback", "kept", { qos: 1 });
    assert.ok(await waitFor(() => seen.includes("kept")));
    assert.deepEqual(seen, ["kept"]);
    await endClient(again.client);
    await endClient(watcher.client);
  });

  it("holds connections while paused and serves them after resume", async () => {
    core.faults.pause();
    const pending = connectMtls(core, device, { clientId: "f-paused" });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(core.lines.some((l) => /connect allowed: client f-paused/.test(l)), false);
    core.faults.resume();
    const result = await pending;
    assert.equal(result.connack?.returnCode, 0);
    await endClient(result.client);
  });

  it("restarts: open connections are dropped, the registry is kept, the same ports serve again", async () => {
    const { client } = await connectMtls(core, device, { clientId: "f-restart" });
    const gone = closed(client);
    const ports = { ...core.ports };
    await core.faults.restart();
    assert.equal(await gone, true);
    const again = await connectMtls(core, device, { clientId: "f-restart" });
    assert.equal(again.connack?.returnCode, 0);
    assert.deepEqual(core.ports, ports);
    await endClient(client);
    await endClient(again.client);
  });
});
