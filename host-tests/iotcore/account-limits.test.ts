// AWS IoT Core's account-level rates (connects, inbound publishes, subscriptions, provisioning
// per second per account), set low for the run so a handful of real clients cross them. The
// stand-in's clock stands still within a test (its buckets refill only when a test moves it),
// so a slow machine cannot refill a bucket between two requests.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createRootCa, fromPem, issueCertificate, type Issued } from "../../certs/pki.js";
import { certificateId } from "../../host/iotcore/registry/x509.js";
import { ACCOUNT_LIMITS } from "../../host/iotcore/index.js";
import { AccountRates } from "../../host/iotcore/dataplane/quotas.js";
import { connectMtls, endClient, registeredDevice, startCore, subscribeCodes, tempDir, waitFor } from "./helpers.js";

type Core = Awaited<ReturnType<typeof startCore>>;

describe("account-level limits", function () {
  it("default to AWS's figures: 500 connects, 20,000 inbound publishes, 500 subscriptions, 10 registrations per second", () => {
    assert.deepEqual({ ...ACCOUNT_LIMITS }, { connectsPerSecond: 500, publishesPerSecond: 20_000, subscriptionsPerSecond: 500, registrationsPerSecond: 10 });
    const rates = new AccountRates({ connectsPerSecond: 3 });
    assert.equal(rates.limits.connectsPerSecond, 3);
    assert.equal(rates.limits.subscriptionsPerSecond, 500);
  });

  describe("on the data plane", function () {
    const dir = tempDir("account-limits");
    let core: Core;
    let device: Issued;
    let clock = Date.now();

    before(async () => {
      core = await startCore(join(dir.path, "state"), { now: () => clock, accountLimits: { connectsPerSecond: 2, subscriptionsPerSecond: 2, publishesPerSecond: 3 } });
      device = await registeredDevice(core, "account-device");
    });
    // Each test starts a second later: every bucket full again.
    beforeEach(() => { clock += 2000; });
    after(async () => {
      await core?.close();
      dir.remove();
    });

    it("drops a CONNECT over the account's rate without a CONNACK, and names the limit in the log", async () => {
      const results = await Promise.all(["one", "two", "three"].map((clientId) => connectMtls(core, device, { clientId })));
      const accepted = results.filter((r) => r.connack?.returnCode === 0);
      const dropped = results.filter((r) => r.closedBeforeConnack);
      assert.equal(accepted.length, 2);
      assert.equal(dropped.length, 1);
      assert.ok(core.lines.some((line) => /over 2 CONNECT requests per second for the account \(throttled\)/.test(line)), core.lines.join("\n"));
      await Promise.all(results.map((r) => endClient(r.client)));
    });

    it("refuses topic filters over the account's subscriptions per second with SUBACK 0x80", async () => {
      const { client } = await connectMtls(core, device, { clientId: "subscriber" });
      const codes = await subscribeCodes(client, { "a/1": { qos: 1 }, "a/2": { qos: 1 }, "a/3": { qos: 1 } });
      assert.deepEqual(codes, [1, 1, 128]);
      await endClient(client);
    });

    it("discards inbound publishes over the account's rate (no PUBACK) and keeps the connection", async () => {
      const { client } = await connectMtls(core, device, { clientId: "publisher" });
      const acked: number[] = [];
      // Bursts from two connections share the account's 3 per second.
      const other = (await connectMtls(core, device, { clientId: "publisher-2" })).client;
      for (let i = 0; i < 2; i++) await other.publishAsync("b/x", "x", { qos: 1 });
      for (let i = 0; i < 3; i++) client.publish("b/y", String(i), { qos: 1 }, (error) => { if (!error) acked.push(i); });
      // The first is let through; with the clock standing still the bucket stays empty for the others.
      const throttled = () => core.lines.some((line) => /publish throttled: client "?publisher"? topic "?b\/y"?: over 3 inbound publishes per second for the account/.test(line));
      assert.ok(await waitFor(() => acked.length >= 1 && throttled()), core.lines.slice(-5).join("\n"));
      assert.deepEqual(acked, [0]);
      assert.equal(client.connected, true);
      await endClient(other);
      await endClient(client);
    });
  });

  describe("just-in-time registration", function () {
    const dir = tempDir("account-limits-jit");
    let core: Core;
    let clock = Date.now();

    before(async () => {
      core = await startCore(join(dir.path, "state"), { now: () => clock, provisioningDelayMs: 50, accountLimits: { registrationsPerSecond: 1 } });
    });
    after(async () => {
      await core?.close();
      dir.remove();
    });

    it("leaves a certificate over the account's registrations per second unregistered, and registers it on a later connect", async () => {
      const ca = await createRootCa({ subject: { commonName: "Fleet CA" } });
      core.registry.registerCa({ caCertificatePem: ca.certPem, certificateMode: "SNI_ONLY", setAsActive: true, allowAutoRegistration: true });
      const devices = await Promise.all(["unit-1", "unit-2"].map((commonName) => issueCertificate({ issuer: ca, subject: { commonName }, kind: "client" })));
      const ids = devices.map((d) => certificateId(fromPem(d.certPem)[0]!));
      const connectOnce = async (device: Issued, clientId: string) => {
        const result = await connectMtls(core, device, { clientId, chainPem: device.certPem + ca.certPem });
        await endClient(result.client);
        return result;
      };
      assert.equal((await connectOnce(devices[0], "unit-1")).closedBeforeConnack, true);
      assert.equal((await connectOnce(devices[1], "unit-2")).closedBeforeConnack, true);
      assert.equal(core.registry.certificates.get(ids[0])?.status, "PENDING_ACTIVATION");
      assert.equal(core.registry.certificates.get(ids[1]), undefined, "throttled: not registered");
      assert.ok(core.lines.some((line) => /JITR throttled \(over the account's 1 provisioning requests per second\); not registered/.test(line)));
      clock += 1000;
      await connectOnce(devices[1], "unit-2");
      assert.equal(core.registry.certificates.get(ids[1])?.status, "PENDING_ACTIVATION");
    });
  });
});
