// The HTTPS publish session, the firmware built as manifests/modes/https-mtls.json composes it
// (boot, that mode, the HTTPS session; no MQTT) under the Node platform against the stand-in:
// readings unposted while the endpoint is unreachable survive a power-down in Preference and
// go out over one keep-alive connection after it, none lost; a 403 stops the device with the
// answer named and the readings kept; the https-sigv4 build stops on fixed keys past their
// expiry without a post.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Device } from "../../firmware/boot/boot.js";
import { isFinal, type DeviceStatus } from "../../firmware/boot/status.js";
import { RESOURCE_NAME } from "../../firmware/credentials/format.js";
import { prepareDemo, type DemoSetup } from "../../host/cli/demo-setup.js";
import { startIotCore, type IotCore } from "../../host/iotcore/index.js";
import { loadComposition, modeManifest, type ComposedFirmware } from "../../host/runtime/composition.js";
import { createNodePlatform } from "../../host/runtime/node/platform.js";

interface Run { device: Device; lines: string[]; acked: number[]; statuses: DeviceStatus[]; until(what: string, predicate: () => boolean, ms?: number): Promise<void> }

describe("HTTPS publish session (https-mtls build under Node, against the stand-in)", function () {
  this.timeout(120_000);
  let dir: string;
  let core: IotCore;
  let firmware: ComposedFirmware;
  const coreLog: string[] = [];
  const atBroker: { topic: string; seq: number }[] = [];
  const running: Device[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "https-session-"));
    core = await startIotCore({ stateDir: join(dir, "iotcore"), log: (line) => coreLog.push(line) });
    core.broker.onMessage((m) => {
      if (m.topic.endsWith("/telemetry")) atBroker.push({ topic: m.topic, seq: (JSON.parse(m.payload.toString()) as { seq: number }).seq });
    });
    firmware = await loadComposition(modeManifest("https-mtls"));
  });
  afterEach(() => { for (const d of running.splice(0)) d.stop(); });
  after(async () => {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function setup(thingName: string, config: Record<string, unknown>): Promise<DemoSetup> {
    return prepareDemo(core, { mode: "https-mtls", provisioning: "none", outDir: join(dir, "dev"), iotcoreStateDir: join(dir, "iotcore"), thingName, config });
  }

  function bootDevice(s: DemoSetup, config: Record<string, unknown> = {}, build = firmware): Run {
    const lines: string[] = [];
    const acked: number[] = [];
    const statuses: DeviceStatus[] = [];
    const platform = createNodePlatform({ storageDir: join(dir, "storage", s.thingName), log: (line) => lines.push(line) });
    const device = build.boot(platform, {
      config: { ...s.config, ...config },
      credentialSources: { resource: (name) => (name === RESOURCE_NAME ? s.image : undefined) },
      features: build.features,
      startFeatures: build.startFeatures,
    }, { onStatus: (st) => statuses.push(st), onAcked: (seq) => acked.push(seq) });
    running.push(device);
    const until = async (what: string, predicate: () => boolean, ms = 30_000) => {
      const end = Date.now() + ms;
      while (!predicate()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; status ${JSON.stringify(device.status)}\n${lines.slice(-20).join("\n")}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return { device, lines, acked, statuses, until };
  }

  it("ten readings unposted while the endpoint is unreachable survive a power-down, then go out over one keep-alive connection, none lost", async () => {
    const s = await setup("sleeper", { telemetryIntervalMs: 100, backoffBaseMs: 50, backoffCapMs: 100, connectSpacingMs: 1000 });
    // A port that accepts TCP and closes at once: every post fails, every reading stays queued.
    const dead: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const offline = bootDevice(s, { port: (dead.address() as { port: number }).port, connectSpacingMs: 1000, backoffBaseMs: 100, backoffCapMs: 100 });
    // connectSpacingMs keeps retries 1 s apart: let ten readings queue at most one per wake
    await offline.until("ten unposted readings", () => offline.device.telemetry.queued >= 10, 60_000);
    offline.device.stop();
    dead.close();
    assert.deepEqual(offline.acked, []);
    assert.ok(offline.lines.some((l) => /post failed: (connection-|tls-)/.test(l)), "the failure is named");
    const unposted = offline.device.telemetry.queued;

    const online = bootDevice(s, { telemetryIntervalMs: 60_000 });
    await online.until("every reading answered", () => online.acked.length >= unposted + 1);
    assert.deepEqual(online.acked, Array.from({ length: unposted + 1 }, (_, i) => i + 1), "answered in order, from the first reading on");
    const connections = online.lines.filter((l) => l.startsWith("https: connected to"));
    assert.equal(connections.length, 1, connections.join("\n"));
    assert.match(connections[0]!, new RegExp(`posting ${unposted + 1} readings`));
    const seen = atBroker.filter((m) => m.topic === "sleeper/telemetry").map((m) => m.seq);
    for (const seq of online.acked) assert.ok(seen.includes(seq), `reading ${seq} was answered but never reached the broker`);
    assert.ok(online.lines.some((l) => /sleep 60000 ms \(simulated: .*0 unposted readings kept in Preference\)/.test(l)));
  });

  it("a 403 (the policy does not allow the topic) stops the device as refused, the answer named and the reading kept", async () => {
    const s = await setup("denied", { telemetryIntervalMs: 60_000, topicPrefix: "elsewhere" });
    const run = bootDevice(s);
    await run.until("a final status", () => isFinal(run.device.status.state));
    assert.equal(run.device.status.state, "refused");
    assert.equal(run.device.status.code, "https-403");
    assert.match(run.device.status.message, /AWS IoT answered 403 ForbiddenException .*do not allow iot:Publish on elsewhere\/telemetry; the unposted readings stay queued/);
    assert.equal(run.device.telemetry.queued, 1);
    assert.ok(coreLog.some((l) => /https publish refused via 8443 topic elsewhere\/telemetry: .*default-deny/.test(l)));
  });

  it("https-sigv4 with fixed keys past their expiry stops as refused (credentials-expired) before any post, the reading kept", async () => {
    const sigv4 = await loadComposition(modeManifest("https-sigv4"));
    const s = await prepareDemo(core, { mode: "https-sigv4", provisioning: "none", outDir: join(dir, "dev"), iotcoreStateDir: join(dir, "iotcore"), thingName: "stale", config: { telemetryIntervalMs: 60_000 } });
    const expired = Date.now() - 60_000;
    const run = bootDevice(s, { connection: { region: "us-east-1", accessKeyId: "AKIDSTALE", secretAccessKey: "stale-secret", sessionToken: "token", credentialsExpiration: expired } }, sigv4);
    await run.until("a final status", () => isFinal(run.device.status.state));
    assert.deepEqual([run.device.status.state, run.device.status.code], ["refused", "credentials-expired"]);
    assert.match(run.device.status.message, /The SigV4 credentials of AKIDSTALE have expired: set fresh ones or use a Cognito identity pool/);
    assert.equal(run.device.telemetry.queued, 1);
    assert.ok(!run.lines.some((l) => l.startsWith("https: connected to")), "no connection was opened");
    assert.ok(!run.lines.some((l) => l.includes("stale-secret")), "the secret key is never logged");
  });
});
