import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { boot } from "../../firmware/boot/boot.js";
import type { DeviceStatus } from "../../firmware/boot/status.js";
import type { Platform } from "../../firmware/platform/seam.js";
import { FakeTime } from "../support/fake-time.js";
import { encodeImage } from "../../certs/image.js";
import { makePki } from "../credentials/fixtures.js";

function fakePlatform(time: FakeTime, stored: Record<string, string> = {}): Platform & { opened: number } {
  const values = new Map<string, string | Uint8Array>(Object.entries(stored));
  const platform = {
    opened: 0,
    clock: time,
    timers: time,
    random: () => 0.5,
    storage: { get: (k: string) => values.get(k), set: (k: string, v: string | Uint8Array) => { values.set(k, v); }, remove: (k: string) => { values.delete(k); } },
    crypto: { sha256: (d: Uint8Array) => new Uint8Array(createHash("sha256").update(d).digest()), hmacSha256: () => new Uint8Array(32), sha1: () => new Uint8Array(20) },
    log: time.log,
    openTransport: () => { platform.opened += 1; throw new Error("no network in this test"); },
  };
  return platform;
}

function run(time: FakeTime, platform: Platform, config: unknown) {
  const statuses: DeviceStatus[] = [];
  const device = boot(platform, { config, credentialSources: {} }, { onStatus: (s) => statuses.push(s) });
  return { device, statuses };
}

describe("boot", () => {
  it("stops on bad config with the field, the value and the source, before touching the network", () => {
    const time = new FakeTime();
    const platform = fakePlatform(time);
    const { device } = run(time, platform, { telemetryIntervalMs: -5 });
    assert.equal(device.status.state, "config-invalid");
    assert.match(device.status.message, /"telemetryIntervalMs" = -5 \(from the manifest\)/);
    time.advance(60_000);
    assert.equal(platform.opened, 0);
    assert.equal(time.pending, 0);
  });

  it("stops on a bad Preference override and says it came from Preference", () => {
    const time = new FakeTime();
    const { device } = run(time, fakePlatform(time, { config: '{"keepAliveSeconds":5}' }), {});
    assert.equal(device.status.state, "config-invalid");
    assert.match(device.status.message, /"keepAliveSeconds" = 5 \(from the preference\)/);
  });

  it("stops on a mode the build does not carry, listing the ones it does", () => {
    const time = new FakeTime();
    const platform = fakePlatform(time, { config: '{"mode":"plain"}' });
    const { device } = run(time, platform, {});
    assert.equal(device.status.state, "config-invalid");
    assert.match(device.status.message, /"mode" = "plain" is not a mode this build carries \(mtls, mtls-alpn, custom-auth, wss-custom-auth, wss-sigv4\)/);
    time.advance(60_000);
    assert.equal(platform.opened, 0);
  });

  it("waits for the clock, then refuses to go on without it", () => {
    const time = new FakeTime(0, false);
    const platform = fakePlatform(time);
    const { device, statuses } = run(time, platform, { clockWaitMs: 2000 });
    time.advance(1000);
    assert.equal(device.status.state, "booting");
    time.advance(2000);
    assert.equal(device.status.state, "clock-unset");
    assert.match(device.status.message, /clock is still not set.*SNTP/);
    assert.equal(platform.opened, 0);
    assert.equal(statuses.length, 1);
    assert.ok(time.lines.some((l) => /boot: clock: not set yet, waiting up to 2000 ms/.test(l)));
  });

  it("stops when no credentials are found, naming where it looked", () => {
    const time = new FakeTime();
    const platform = fakePlatform(time);
    const { device } = run(time, platform, { endpoint: "x-ats.iot.us-east-1.amazonaws.com", thingName: "dev-1" });
    assert.equal(device.status.state, "credentials-invalid");
    assert.equal(device.status.code, "credentials-not-found");
    assert.equal(platform.opened, 0);
  });

  it("stops an mtls device whose credentials hold no device certificate, and any device without a root CA, before touching the network", async () => {
    const pki = await makePki();
    const time = new FakeTime(Date.now());
    const start = (mode: string, image: Uint8Array) => {
      const platform = fakePlatform(time);
      const device = boot(platform, { config: { mode, endpoint: "x-ats.iot.us-east-1.amazonaws.com", thingName: "dev-1", provisioning: "none" }, credentialSources: { resource: () => image } });
      return { device, platform };
    };
    const caOnly = encodeImage({ chain: [], trustedCa: [pki.serverCa.certDer] });
    const noCertificate = start("mtls", caOnly);
    assert.deepEqual([noCertificate.device.status.state, noCertificate.device.status.code], ["credentials-invalid", "credentials-incomplete"]);
    assert.match(noCertificate.device.status.message, /the device key and certificate chain must both be present; reissue it/);
    assert.equal(noCertificate.platform.opened, 0);
    const noCa = start("mtls", encodeImage({ key: pki.device.key.privateKeyDer, chain: [pki.device.certDer, pki.ca.certDer], trustedCa: [] }));
    assert.deepEqual([noCa.device.status.state, noCa.device.status.code], ["credentials-invalid", "credentials-no-trusted-ca"]);
    assert.equal(noCa.platform.opened, 0);
  });

  it("logs one line per boot step", () => {
    const time = new FakeTime();
    run(time, fakePlatform(time), { ssid: "home" });
    assert.match(time.lines[0]!, /^boot: config: manifest: mode mtls, provisioning jitp, telemetry every 5000 ms; not ours, ignored: ssid$/);
    assert.match(time.lines[1]!, /^boot: clock: set/);
  });

  it("keeps only the lines at or above the config's logLevel: info by default, warn only failures and stops, off none", () => {
    const stops = { endpoint: "x-ats.iot.us-east-1.amazonaws.com", thingName: "dev-1" };
    const linesAt = (logLevel?: string) => {
      const time = new FakeTime();
      run(time, fakePlatform(time), logLevel ? { ...stops, logLevel } : stops);
      return time.lines;
    };
    const stopped = /^boot: stopped: credentials-invalid/;
    const info = linesAt();
    assert.ok(info.some((l) => /^boot: config: /.test(l)) && info.some((l) => /^boot: clock: set/.test(l)));
    assert.ok(info.some((l) => stopped.test(l)));
    assert.deepEqual(linesAt("debug"), info, "no debug line on this path");
    const warn = linesAt("warn");
    assert.equal(warn.length, 1);
    assert.match(warn[0]!, stopped);
    assert.deepEqual(linesAt("off"), []);
  });

  it("refuses a logLevel that is not one of the levels, naming them", () => {
    const time = new FakeTime();
    const { device } = run(time, fakePlatform(time), { logLevel: "verbose" });
    assert.equal(device.status.state, "config-invalid");
    assert.match(device.status.message, /"logLevel" = "verbose" \(from the manifest\) must be one of debug, info, warn, off/);
  });

  it("stop() before the clock is set cancels the wait", () => {
    const time = new FakeTime(0, false);
    const { device } = run(time, fakePlatform(time), {});
    device.stop();
    assert.equal(device.status.state, "stopped");
    assert.equal(time.pending, 0);
  });
});
