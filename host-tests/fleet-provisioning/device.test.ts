// The firmware's fleet provisioning client (features/fleet) under Node against the stand-in:
// a power cut after each step and a boot again ends with exactly one thing and one ACTIVE
// device certificate; a half-written store is detected by its checksum; a pre-provisioning
// hook's denial ends in a named status after one RegisterThing.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { boot, type Device } from "../../firmware/boot/boot.js";
import { isFinal, type DeviceStatus } from "../../firmware/boot/status.js";
import { RESOURCE_NAME } from "../../firmware/credentials/format.js";
import { encodeContainer } from "../../firmware/credentials/encode.js";
import fleet from "../../firmware/features/fleet.js";
import { startFeatures } from "../../firmware/features/runtime.js";
import { loadStore, storeKeys } from "../../firmware/features/fleet/store.js";
import type { Platform, Storage, Transport } from "../../firmware/platform/seam.js";
import { controlClient, FLEET_TEMPLATE, prepareDemo, type DemoSetup } from "../../host/cli/demo-setup.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";
import { UpdateProvisioningTemplateCommand } from "@aws-sdk/client-iot";
import { startBench, type Bench } from "../provisioning/device-run.js";

/** A platform whose power can be cut: after `kill()` no timer fires, no byte is read or written, no storage write lands. */
function killable(base: Platform, cutAfterWrite?: (key: string, value: string | Uint8Array) => boolean) {
  let dead = false;
  const transports = new Set<Transport>();
  const kill = () => {
    dead = true;
    for (const t of transports) t.close();
  };
  const storage: Storage = {
    get: (key) => base.storage.get(key),
    remove: (key) => { if (!dead) base.storage.remove(key); },
    set(key, value) {
      if (dead) return;
      base.storage.set(key, value);
      if (cutAfterWrite?.(key, value)) kill();
    },
  };
  const platform: Platform = {
    ...base,
    storage,
    timers: { setTimeout: (cb, ms) => base.timers.setTimeout(() => { if (!dead) cb(); }, ms), clearTimeout: (h) => base.timers.clearTimeout(h) },
    log: (line) => { if (!dead) base.log(line); },
    openTransport(options, events) {
      const transport = base.openTransport(options, {
        onOpen: (info) => { if (!dead) events.onOpen(info); },
        onData: (bytes) => { if (!dead) events.onData(bytes); },
        onClose: (failure) => { if (!dead) events.onClose(failure); },
      });
      transports.add(transport);
      return transport;
    },
  };
  return { platform, kill, get dead() { return dead; } };
}

describe("fleet provisioning by claim: the device", function () {
  this.timeout(120_000);
  let bench: Bench;
  let serial = 0;

  before(async () => { bench = await startBench({ provisioningDelayMs: 50 }); });
  after(async () => { await bench?.close(); });

  async function unit(name: string): Promise<DemoSetup> {
    serial += 1;
    return prepareDemo(bench.core, {
      mode: "mtls", provisioning: "fleet", outDir: join(bench.dir, "dev"), iotcoreStateDir: join(bench.dir, "iotcore"),
      thingName: `${name}-${serial}`, config: { telemetryIntervalMs: 200, backoffBaseMs: 1000, backoffCapMs: 2000 },
    });
  }

  /** Boots the unit; resolves when `done` holds (or a final status), or the power was cut. */
  function run(setup: DemoSetup, done: (device: Device, acked: number) => boolean, cut?: (key: string, value: string | Uint8Array) => boolean, killOnLog?: RegExp) {
    const lines: string[] = [];
    const base = createNodePlatform({ storageDir: join(bench.dir, "storage", setup.thingName), log: (line) => lines.push(line) });
    const power = killable(base, cut);
    let acked = 0;
    let device: Device;
    let stopLog: (() => void) | undefined;
    return new Promise<{ status: DeviceStatus; lines: string[]; cut: boolean }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no end within 60 s: ${JSON.stringify(device?.status)}\n${lines.slice(-30).join("\n")}`)), 60_000);
      const check = () => {
        if (!device) return;
        if (power.dead || isFinal(device.status.state) || done(device, acked)) {
          clearTimeout(timer);
          stopLog?.();
          const status = device.status;
          if (!power.dead) device.stop();
          resolve({ status, lines, cut: power.dead });
        }
      };
      if (killOnLog) {
        // The stand-in's decision line comes before its answer goes out: the unit dies with the answer on the wire.
        stopLog = bench.core.log.subscribe((event) => {
          if (killOnLog.test(event.line) && event.line.includes(setup.thingName)) { power.kill(); setImmediate(check); }
        });
      }
      const wrapped = { ...power.platform, storage: { ...power.platform.storage, set: (k: string, v: string | Uint8Array) => { power.platform.storage.set(k, v); if (power.dead) setImmediate(check); } } };
      device = boot(wrapped, {
        config: setup.config,
        credentialSources: { resource: (name) => (name === RESOURCE_NAME ? setup.image : undefined) },
        features: [fleet],
        startFeatures,
      }, { onStatus: () => setImmediate(check), onAcked: () => { acked += 1; setImmediate(check); } });
      check();
    });
  }

  /** The thing's state in the stand-in: things named after the unit, and the ACTIVE certificates this unit was given. */
  function outcome(setup: DemoSetup) {
    const { registry } = bench.core;
    const thing = registry.things.get(setup.thingName);
    const issued = bench.coreLog.filter((l) => /CreateKeysAndCertificate: certificate [0-9a-f]{64} created/.test(l)).map((l) => /certificate ([0-9a-f]{64})/.exec(l)![1]!);
    const active = (thing?.principals ?? []).filter((arn) => registry.getCertificate(arn.split("/").pop()!).status === "ACTIVE");
    return { things: registry.things.list().filter((t) => t.thingName === setup.thingName).length, principals: thing?.principals.length ?? 0, active: active.length, activeIssued: issued.filter((id) => registry.certificates.get(id)?.status === "ACTIVE" && thing?.principals.some((p) => p.endsWith(id))).length };
  }

  const telemetry = (n: number) => (_: Device, acked: number) => acked >= n;

  const cuts: [string, ((key: string, value: string | Uint8Array) => boolean) | undefined, RegExp | undefined][] = [
    ["the key and certificate half written (container part, no stage record)", (key) => key === "fleet.0", undefined],
    ["the key and certificate stored, before RegisterThing", (key, value) => key === "fleet.s" && String(value).includes('"stage":"keys"'), undefined],
    ["RegisterThing done on the server, its answer not yet stored", undefined, /RegisterThing .*provisioned: .*thing /],
    ["registered, before the first connect with its own certificate", (key, value) => key === "fleet.s" && String(value).includes('"stage":"registered"'), undefined],
    ["connected once with its own certificate", (key, value) => key === "fleet.s" && String(value).includes('"stage":"connected"'), undefined],
  ];
  for (const [when, cut, onLog] of cuts) {
    it(`recovers from a power cut with ${when}: one thing, one ACTIVE device certificate, telemetry`, async () => {
      const setup = await unit("cut");
      const first = await run(setup, () => false, cut, onLog ? new RegExp(onLog.source.replace("thing ", `thing ${setup.thingName}`)) : undefined);
      assert.equal(first.cut, true, `the power was cut (${first.status.state})`);
      const second = await run(setup, telemetry(2));
      assert.equal(second.status.state, "online", JSON.stringify(second.status) + "\n" + second.lines.slice(-20).join("\n"));
      assert.deepEqual(outcome(setup), { things: 1, principals: 1, active: 1, activeIssued: 1 });
      const third = await run(setup, telemetry(1));
      assert.ok(third.lines.some((l) => l.includes("connected before; the claim is not used")), "the third boot uses its own certificate");
      assert.ok(!third.lines.some((l) => l.includes("fleet: claim certificate")), "and never the claim");
      assert.deepEqual(outcome(setup), { things: 1, principals: 1, active: 1, activeIssued: 1 });
    });
  }

  it("detects a half-written store by its checksum and provisions again from the claim", async () => {
    const setup = await unit("torn");
    const platform = createNodePlatform({ storageDir: join(bench.dir, "storage", setup.thingName), log: () => undefined });
    const container = encodeContainer({ chain: [new Uint8Array([1, 2, 3])], trustedCa: [], settings: {}, validity: [{ notBefore: 0, notAfter: 0 }] });
    assert.ok(container.ok);
    storeKeys(platform.storage, container.value, "0".repeat(64), "token");
    const part = platform.storage.get("fleet.0") as Uint8Array;
    platform.storage.set("fleet.0", part.slice(0, part.length - 1));
    const stored = loadStore(platform.storage);
    assert.equal(stored.ok, false);
    const result = await run(setup, telemetry(1));
    assert.ok(result.lines.some((l) => /half written|checksum/.test(l)), result.lines.join("\n"));
    assert.equal(result.status.state, "online");
    assert.deepEqual(outcome(setup), { things: 1, principals: 1, active: 1, activeIssued: 1 });
  });

  it("stops with status refused (fleet-template-disabled) and the server's reason when the template is disabled", async () => {
    const iot = controlClient(bench.core);
    const setup = await unit("off");
    await iot.send(new UpdateProvisioningTemplateCommand({ templateName: FLEET_TEMPLATE, enabled: false }));
    try {
      const result = await run(setup, () => false);
      assert.deepEqual([result.status.state, result.status.code], ["refused", "fleet-template-disabled"]);
      assert.match(result.status.message, /\(403 TemplateDisabled\): Provisioning template npm-start-fleet is disabled\./);
      assert.equal(result.lines.filter((l) => l.includes("fleet: RegisterThing with template")).length, 1);
    } finally {
      await iot.send(new UpdateProvisioningTemplateCommand({ templateName: FLEET_TEMPLATE, enabled: true }));
      iot.destroy();
    }
  });

  it("stops with status refused (fleet-access-denied) and the hook's reason after one RegisterThing when the pre-provisioning hook denies", async () => {
    const functions = join(bench.dir, "iotcore", "functions");
    mkdirSync(functions, { recursive: true });
    writeFileSync(join(functions, "deny-bad.mjs"), "export const handler = async (event) => ({ allowProvisioning: !event.parameters.SerialNumber.startsWith(\"bad\") });\n");
    const iot = controlClient(bench.core);
    const setup = await unit("bad");
    await iot.send(new UpdateProvisioningTemplateCommand({ templateName: FLEET_TEMPLATE, preProvisioningHook: { targetArn: "arn:aws:lambda:us-east-1:123456789012:function:deny-bad", payloadVersion: "2020-04-01" } }));
    try {
      const result = await run(setup, () => false);
      assert.equal(result.status.state, "refused");
      assert.equal(result.status.code, "fleet-access-denied");
      assert.match(result.status.message, /RegisterThing with template npm-start-fleet refused by the server \(403 AccessDenied\): The pre-provisioning hook .* denied provisioning/);
      assert.equal(result.lines.filter((l) => l.includes("fleet: RegisterThing with template")).length, 1);
      assert.equal(bench.core.registry.things.get(setup.thingName), undefined);
    } finally {
      await iot.send(new UpdateProvisioningTemplateCommand({ templateName: FLEET_TEMPLATE, removePreProvisioningHook: true }));
      iot.destroy();
    }
  });
});
