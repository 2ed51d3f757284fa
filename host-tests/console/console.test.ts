// The web console in a real browser: Debian's chromium driven by playwright-core, against a
// stand-in with a device provisioned by JITP into telemetry. Screenshots of every page (at
// 1280 px and at phone width) go to .dev/console/screenshots/ for a person to look at.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { createRootCa, issueCertificate } from "../../certs/pki.js";
import { AddThingToThingGroupCommand, CreateJobCommand, CreateStreamCommand, CreateThingGroupCommand } from "@aws-sdk/client-iot";
import { connectMtls, endClient, iotClient, registeredDevice } from "../iotcore/helpers.js";
import { runDevice, startBench, type Bench, type RunningDevice } from "../provisioning/device-run.js";
import { waitFor } from "../support/wait.js";
import { CLASSIC } from "../../host/iotcore/services/iotdata/store.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = join(".dev", "console", "screenshots");
const PAGES = ["things", "certificates", "cas", "policies", "authorizers", "domains", "jobs", "log", "mqtt"];

describe("web console (chromium)", function () {
  this.timeout(60_000);
  let bench: Bench;
  let device: RunningDevice;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];
  const expectRefusals = false;

  before(async function () {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    bench = await startBench({ provisioningDelayMs: 50 });
    device = await runDevice(bench, { provisioning: "jitp", thingName: "console-device" });
    await device.until(() => device.acked.size >= 1, 30_000, "the first acknowledged telemetry message");
    const iot = iotClient(bench.core);
    try {
      await iot.send(new CreateThingGroupCommand({ thingGroupName: "console-fleet" }));
      await iot.send(new AddThingToThingGroupCommand({ thingGroupName: "console-fleet", thingName: "console-device" }));
    } finally {
      iot.destroy();
    }
    profile = mkdtempSync(join(tmpdir(), "console-chromium-"));
    // A fresh user-data-dir: playwright takes it as the persistent context's directory.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 860 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    page = browser.pages()[0] ?? await browser.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    // A failed request shows in the console as "Failed to load resource"; name the URL instead.
    page.on("console", (message) => { if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) pageErrors.push(message.text()); });
    page.on("response", (response) => {
      if (response.status() < 400) return;
      if (new URL(response.url()).pathname.startsWith("/console/api/") && expectRefusals) return;
      pageErrors.push(`HTTP ${response.status()} for ${response.url()}`);
    });
    // Nothing but the stand-in: a request anywhere else would mean a CDN or a network dependency.
    await page.route((url) => url.origin !== new URL(bench.core.controlUrl).origin, (route) => {
      pageErrors.push(`request outside the stand-in: ${route.request().url()}`);
      return route.abort();
    });
  });

  after(async () => {
    await browser?.close();
    await device?.device.stop();
    await bench?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  afterEach(() => assert.deepEqual(pageErrors.splice(0), [], "the page reported errors"));

  const open = async (hash: string) => {
    await page.goto(`${bench.core.consoleUrl}#${hash}`);
    await page.locator("main h2").first().waitFor();
  };
  const shoot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it("lists the thing JITP provisioned, with its certificate ACTIVE and its origin JITP, its attributes and its group", async () => {
    await open("things");
    const row = page.getByRole("row").filter({ hasText: "console-device" });
    await row.waitFor();
    assert.match(await row.innerText(), /ACTIVE/);
    assert.match(await row.innerText(), /JITP/);
    await page.getByRole("link", { name: "console-device" }).click();
    await page.getByRole("heading", { name: "Thing console-device" }).waitFor();
    const certificates = page.getByRole("region", { name: "Certificates of console-device" });
    await certificates.waitFor();
    assert.match(await certificates.innerText(), /JITP/);
    assert.match(await page.locator("main").innerText(), /country/, "the template's attributes are shown");
    await page.getByRole("list", { name: "Groups" }).getByText("console-fleet").waitFor();
    await shoot("thing");
    await certificates.getByRole("link").first().click();
    await page.getByRole("heading", { name: /^Certificate / }).waitFor();
    const facts = page.locator("dl.facts");
    await facts.waitFor();
    const text = await facts.innerText();
    assert.match(text, /Origin\s*JITP/);
    assert.match(text, /Things\s*console-device/);
    assert.match(text, /Issuer CA\s*[0-9a-f]{64}/);
    await shoot("certificate");
  });

  it("shows the thing's shadow and updates its desired state over MQTT, as the Device Shadow service stores it", async () => {
    await open("things/console-device");
    const desired = page.getByLabel(/^Desired state/);
    await desired.waitFor();
    await desired.fill('{"telemetryIntervalMs": 5000, "led": "green"}');
    await page.getByRole("button", { name: "Update desired state" }).click();
    await page.getByRole("status").filter({ hasText: /Shadow updated to version \d+/ }).waitFor();
    const stored = await bench.core.shadows.request("console-device", CLASSIC, "get", new Uint8Array());
    assert.ok(stored.ok, JSON.stringify(stored));
    assert.deepEqual((stored.document.state as { desired: unknown }).desired, { telemetryIntervalMs: 5000, led: "green" });
    // The page reloads the shadow after the update: its delta (desired not yet reported) is shown.
    await page.locator("dl.shadow").filter({ hasText: '"led": "green"' }).waitFor();
    await shoot("thing-shadow");
  });

  it("shows the device's telemetry arriving live in the MQTT test client, with topic, client id, QoS and size", async () => {
    await open("mqtt");
    await page.getByLabel("Topic filter").fill("console-device/#");
    await page.getByRole("button", { name: "Subscribe" }).click();
    const lastBefore = Math.max(...device.acked);
    const message = page.locator("li.message").filter({ hasText: "console-device/telemetry" }).first();
    await message.waitFor({ timeout: 15_000 });
    const text = await message.innerText();
    const seq = Number(/"seq":\s*(\d+)/.exec(text)?.[1]);
    assert.ok(seq > lastBefore, `telemetry #${seq} was sent after subscribing (last acknowledged before: #${lastBefore})`);
    assert.match(text, /client id\s*console-device/);
    assert.match(text, /QoS\s*1/);
    assert.match(text, /"seq":\s*\d+/, "the payload is shown as text");
    await page.getByLabel("Hex").check();
    assert.match(await message.locator("pre").innerText(), /^7b 22/, "the payload as hex starts with {\"");
    await shoot("mqtt-subscribed");
  });

  it("shows a refused connection in the connection log with its listener and reason", async () => {
    const stranger = await createRootCa({ subject: { commonName: "Unknown CA" } });
    const leaf = await issueCertificate({ issuer: stranger, subject: { commonName: "intruder" }, kind: "client" });
    await open("log");
    const attempt = await connectMtls(bench.core, leaf, { clientId: "intruder" });
    await endClient(attempt.client);
    const refused = page.getByRole("log", { name: "Connection log" }).getByRole("listitem").filter({ hasText: "client intruder" }).first();
    await refused.waitFor({ timeout: 10_000 });
    const text = await refused.innerText();
    assert.match(text, /refused/);
    assert.match(text, /listener\s*8883/);
    assert.match(text, /Reason: certificate [0-9a-f]{64} is not registered and no registered CA issued it/);
    const allowed = page.getByRole("log", { name: "Connection log" }).getByRole("listitem").filter({ hasText: "client console-device" }).filter({ hasText: "allowed" }).filter({ hasText: /listener\s*8883/ }).first();
    assert.match(await allowed.innerText(), /decided by\s*policy \S+ statement 0/, "an allowed connect names the policy statement");
    await shoot("log");
  });

  it("shows which policy statement refused a subscription", async () => {
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: "iot:*", Resource: "*" },
        { Effect: "Deny", Action: "iot:Subscribe", Resource: `arn:aws:iot:${bench.core.region}:${bench.core.accountId}:topicfilter/secret/*` },
      ],
    });
    const nosy = await registeredDevice(bench.core, "console-nosy", [policy]);
    await open("log");
    const { client } = await connectMtls(bench.core, nosy, { clientId: "console-nosy" });
    try {
      // mqtt.js rejects a subscription its SUBACK refuses (0x80).
      const answer = await client.subscribeAsync("secret/plans", { qos: 1 }).then(() => "granted", (e: Error) => e.message);
      assert.match(answer, /Subscribe error/);
      const refused = page.getByRole("log", { name: "Connection log" }).getByRole("listitem").filter({ hasText: "client console-nosy subscribes to secret/plans" }).first();
      await refused.waitFor({ timeout: 10_000 });
      const text = await refused.innerText();
      assert.match(text, /refused/);
      assert.match(text, /decided by\s*policy p-[0-9a-f]{8}-0 statement 1/);
      assert.match(text, /answer\s*SUBACK 0x80/);
      await shoot("log-subscribe-refused");
    } finally {
      await endClient(client);
    }
  });

  it("shows a policy's document", async () => {
    await open("policies");
    const policy = page.locator("main details").first();
    await policy.locator("summary").click();
    const document = JSON.parse(await policy.locator("pre").innerText()) as { Statement: { Action: string[] }[] };
    assert.ok(document.Statement.some((s) => s.Action.includes("iot:Connect")), "the JITP template's policy, pretty-printed");
  });

  it("shows a job with its status, counts, executions and document, its stream, and the job on the thing's page", async () => {
    const iot = iotClient(bench.core);
    try {
      mkdirSync(join(bench.dir, "iotcore", "s3", "firmware"), { recursive: true });
      writeFileSync(join(bench.dir, "iotcore", "s3", "firmware", "app.bin"), "image");
      await iot.send(new CreateStreamCommand({ streamId: "console-stream", description: "app v2", roleArn: "arn:aws:iam::123456789012:role/ota", files: [{ fileId: 0, s3Location: { bucket: "firmware", key: "app.bin" } }] }));
      await iot.send(new CreateJobCommand({ jobId: "console-job", targets: [`arn:aws:iot:${bench.core.region}:${bench.core.accountId}:thinggroup/console-fleet`], document: JSON.stringify({ operation: "reboot" }) }));
    } finally {
      iot.destroy();
    }
    await open("jobs");
    await page.getByRole("link", { name: "console-job" }).click();
    await page.getByRole("heading", { name: "Job console-job" }).waitFor();
    const main = page.locator("main");
    await main.getByText("IN_PROGRESS").first().waitFor();
    assert.match(await main.locator("dl.facts").nth(1).innerText(), /Queued\s+1/);
    assert.match(await main.getByRole("region", { name: "Executions of console-job" }).innerText(), /console-device\s+QUEUED/);
    assert.deepEqual(JSON.parse(await main.locator("pre").innerText()), { operation: "reboot" });
    await open("jobs");
    assert.match(await page.getByRole("region", { name: "Streams" }).innerText(), /console-stream\s+1\s+app v2/);
    await open("things/console-device");
    await page.getByRole("region", { name: "Job executions on console-device" }).getByRole("link", { name: "console-job" }).waitFor();
  });

  it("publishes a message that an mqtt.js subscriber receives", async () => {
    const listener = await registeredDevice(bench.core, "console-listener");
    const { client } = await connectMtls(bench.core, listener, { clientId: "console-listener" });
    try {
      await client.subscribeAsync("console/greeting", { qos: 1 });
      const received: { topic: string; payload: string }[] = [];
      client.on("message", (topic, payload) => received.push({ topic, payload: payload.toString("utf8") }));
      await open("mqtt");
      await page.getByLabel("Topic", { exact: true }).fill("console/greeting");
      await page.getByLabel("Payload").fill('{"hello":"from the console"}');
      await page.getByRole("button", { name: "Publish" }).click();
      await page.getByRole("status").filter({ hasText: "Published" }).waitFor();
      await waitFor("the mqtt.js subscriber's message", () => received.length > 0);
      assert.deepEqual(received, [{ topic: "console/greeting", payload: '{"hello":"from the console"}' }]);
      await shoot("mqtt-published");
    } finally {
      await endClient(client);
    }
  });

  it("refuses the log stream and the MQTT WebSocket unsigned, and the session to other hosts and sites", async () => {
    const unsigned = await fetch(`${bench.core.controlUrl}/console/api/log`);
    assert.equal(unsigned.status, 403);
    assert.match((await unsigned.json() as { message: string }).message, /Authorization/);
    // A page of another site that reached the stand-in by DNS rebinding sends its own Host.
    const foreignHost = await new Promise<number>((resolve, reject) => {
      request(`${bench.core.controlUrl}/console/session`, { headers: { host: "console.example.com" } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).on("error", reject).end();
    });
    assert.equal(foreignHost, 403);
    const otherSite = await fetch(`${bench.core.controlUrl}/console/session`, { headers: { "sec-fetch-site": "cross-site" } });
    assert.equal(otherSite.status, 403);
    const session = await fetch(`${bench.core.controlUrl}/console/session`);
    assert.equal(session.status, 200);
    const key = await session.json() as { accessKeyId: string };
    assert.equal(key.accessKeyId, bench.core.accountKey.accessKeyId, "the console signs with the stand-in's own key, the one written for the AWS CLI");
    const upgrade = await new Promise<number>((resolve, reject) => {
      request(`${bench.core.controlUrl}/mqtt`, {
        headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-protocol": "mqtt" },
      }).on("response", (response) => { response.resume(); resolve(response.statusCode ?? 0); })
        .on("upgrade", (_response, socket) => { socket.destroy(); resolve(101); })
        .on("error", reject).end();
    });
    assert.equal(upgrade, 403, "MQTT over the control port's WebSocket needs a SigV4 presigned URL");
  });

  it("lays out every page at 1280 px and at phone width (screenshots)", async () => {
    for (const [width, height, suffix] of [[1280, 860, "1280"], [390, 844, "phone"]] as const) {
      await page.setViewportSize({ width, height });
      for (const name of PAGES) {
        await open(name);
        await page.locator("main").getByText("Loading…").first().waitFor({ state: "detached" });
        const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
        assert.ok(overflow <= 0, `${name} at ${width} px scrolls sideways by ${overflow} px`);
        await shoot(`${name}-${suffix}`);
      }
    }
  });

  it("can be used from the keyboard: Tab reaches the sections and Enter opens one", async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await open("things");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate<string>("document.activeElement?.textContent"), "Things");
    for (let i = 0; i < 8; i++) await page.keyboard.press("Tab");
    assert.equal(await page.evaluate<string>("document.activeElement?.textContent"), "MQTT test client");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "MQTT test client" }).waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate<string>("document.activeElement?.id"), "filter", "Tab after opening a section goes into its form");
  });
});
