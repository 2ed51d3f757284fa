import assert from "node:assert/strict";
import type { Feature, FeatureContext } from "../../firmware/features/feature.js";
import { topicMatches } from "../../firmware/features/runtime.js";
import { bootDevice, startBench, type Bench } from "../provisioning/device-run.js";
import { prepareDemo } from "../../host/cli/demo-setup.js";
import { waitFor } from "../support/wait.js";
import { join } from "node:path";

/** A small feature: echoes what arrives on <prefix>/echo/in to <prefix>/echo/out, prefixed with its greeting. */
function echoFeature(seen: { ups: number; downs: number; context?: FeatureContext; stopped: boolean }): Feature {
  return {
    name: "echo",
    settings: { greeting: ["hello", 32], repeat: [1, [1, 5]] },
    start(context) {
      seen.context = context;
      context.subscribe(`${context.topicPrefix}/echo/in`, 1, (_topic, payload) => {
        const text = `${context.setting("greeting")}:${new TextDecoder().decode(payload)}`;
        for (let i = 0; i < (context.setting("repeat") as number); i++) context.publish(`${context.topicPrefix}/echo/out`, new TextEncoder().encode(text), 1);
      });
      context.onSessionUp(() => { seen.ups += 1; });
      context.onSessionDown(() => { seen.downs += 1; });
      return { stop: () => { seen.stopped = true; } };
    },
  };
}

describe("feature modules", function () {
  this.timeout(30_000);
  let bench: Bench;
  before(async () => { bench = await startBench({ provisioningDelayMs: 100 }); });
  after(async () => { await bench.close(); });

  async function setup(name: string, features: unknown) {
    return prepareDemo(bench.core, {
      mode: "mtls", provisioning: "none", outDir: join(bench.dir, "dev", name), iotcoreStateDir: join(bench.dir, "iotcore"), thingName: name,
      config: { telemetryIntervalMs: 60_000, features },
    });
  }

  it("starts a feature with its settings, routes its subscription and tells it the session is up", async () => {
    const seen = { ups: 0, downs: 0, stopped: false } as { ups: number; downs: number; context?: FeatureContext; stopped: boolean };
    const demo = await setup("feature-echo", { echo: { greeting: "hi" } });
    const out: string[] = [];
    bench.core.broker.onMessage((m) => { if (m.topic === "feature-echo/echo/out") out.push(m.payload.toString("utf8")); });
    const run = bootDevice(bench, demo, [echoFeature(seen)]);
    try {
      await waitFor("the session to come up", () => seen.ups === 1);
      assert.ok(run.lines.some((l) => /mode mtls, .*features echo/.test(l)), "boot names the features it carries");
      await waitFor("the feature's subscription", () => run.lines.length > 0 && bench.coreLog.some((l) => /subscribe allowed: client feature-echo filter feature-echo\/echo\/in/.test(l)));
      await bench.core.broker.publish("feature-echo/echo/in", "ping");
      await waitFor("the echo", () => out.length === 1);
      assert.deepEqual(out, ["hi:ping"]);
      assert.equal(seen.context?.setting("repeat"), 1);
    } finally {
      run.device.stop();
    }
    assert.equal(seen.stopped, true);
  });

  it("checks a setting change against its rule and keeps it across a reboot", async () => {
    const seen = { ups: 0, downs: 0, stopped: false } as { ups: number; downs: number; context?: FeatureContext; stopped: boolean };
    const demo = await setup("feature-settings", { echo: {} });
    const first = bootDevice(bench, demo, [echoFeature(seen)]);
    try {
      await waitFor("the feature to start", () => seen.context !== undefined);
      const context = seen.context!;
      const refused = context.setSetting("repeat", 9);
      assert.equal(refused?.code, "config-invalid");
      assert.match(refused?.message ?? "", /"features\.echo\.repeat" = 9 must be an integer from 1 to 5/);
      assert.equal(context.setSetting("repeat", 3), undefined);
      assert.equal(context.setting("repeat"), 3);
    } finally {
      first.device.stop();
    }
    const again = { ups: 0, downs: 0, stopped: false } as typeof seen;
    const second = bootDevice(bench, demo, [echoFeature(again)]);
    try {
      await waitFor("the feature to start again", () => again.context !== undefined);
      assert.equal(again.context!.setting("repeat"), 3);
      assert.equal(again.context!.setting("greeting"), "hello");
    } finally {
      second.device.stop();
    }
  });

  it("refuses a config naming a feature the build does not carry, or a bad feature setting", async () => {
    const missing = bootDevice(bench, await setup("feature-missing", { shadow: {} }), []);
    assert.equal(missing.device.status.state, "config-invalid");
    assert.match(missing.device.status.message, /"features\.shadow" names a feature this build does not carry \(none\)/);
    const seen = { ups: 0, downs: 0, stopped: false };
    const bad = bootDevice(bench, await setup("feature-bad", { echo: { greting: "x" } }), [echoFeature(seen)]);
    assert.equal(bad.device.status.state, "config-invalid");
    assert.match(bad.device.status.message, /"features\.echo\.greting" = "x" is not a setting of feature echo \(known: greeting, repeat\)/);
  });

  it("matches MQTT filters with + and #, and keeps $ topics to explicit filters", () => {
    assert.ok(topicMatches("a/+/c", "a/b/c"));
    assert.ok(!topicMatches("a/+/c", "a/b/d"));
    assert.ok(topicMatches("a/#", "a/b/c"));
    assert.ok(topicMatches("a/#", "a"));
    assert.ok(!topicMatches("a/b", "a/b/c"));
    assert.ok(!topicMatches("#", "$aws/things/t/shadow/update/accepted"));
    assert.ok(!topicMatches("+/things/t", "$aws/things/t"));
    assert.ok(topicMatches("$aws/things/t/shadow/+/accepted", "$aws/things/t/shadow/update/accepted"));
  });
});
