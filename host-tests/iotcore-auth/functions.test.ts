import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFunctions } from "../../host/iotcore/services/lambda/local-functions.js";

describe("local functions in place of Lambda", () => {
  let stateDir: string;
  let functions: LocalFunctions;
  const logs: string[] = [];

  before(() => {
    stateDir = mkdtempSync(join(tmpdir(), "iotcore-functions-"));
    mkdirSync(join(stateDir, "functions"));
    const put = (name: string, code: string) => writeFileSync(join(stateDir, "functions", name), code);
    put("echo.mjs", `export const handler = async (event, context) => ({ event, name: context.functionName, arn: context.invokedFunctionArn, region: process.env.AWS_REGION, iot: process.env.AWS_ENDPOINT_URL_IOT });`);
    put("legacy.js", `export function handler(event, context, callback) { console.log("called", event.n); callback(null, event.n * 2); }`);
    put("throws.mjs", `export const handler = async () => { throw new RangeError("bad input"); };`);
    put("hangs.mjs", `export const handler = () => new Promise(() => {});`);
    put("sdk.mjs", `import { IoTClient } from "@aws-sdk/client-iot"; export const handler = async () => typeof IoTClient;`);
    functions = new LocalFunctions({
      stateDir, region: "us-east-1", accountId: "123456789012", timeoutMs: 3000,
      environment: () => ({ AWS_ENDPOINT_URL_IOT: "http://127.0.0.1:1" }), log: (l) => logs.push(l),
    });
  });
  after(async () => {
    await functions.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("runs a module named by its Lambda ARN with the event and a Lambda-like context and environment", async () => {
    const arn = functions.arn("echo");
    assert.equal(arn, "arn:aws:lambda:us-east-1:123456789012:function:echo");
    const result = await functions.invoke(arn, { a: 1 });
    assert.deepEqual(result, { ok: true, value: { event: { a: 1 }, name: "echo", arn, region: "us-east-1", iot: "http://127.0.0.1:1" } });
  });

  it("supports callback-style .js handlers and forwards their console output to the log", async () => {
    assert.deepEqual(await functions.invoke("legacy", { n: 21 }), { ok: true, value: 42 });
    assert.ok(logs.some((l) => l === "function legacy: called 21"), logs.join("\n"));
  });

  it("resolves the project's packages from a function kept in the state directory", async () => {
    assert.deepEqual(await functions.invoke(functions.arn("sdk"), {}), { ok: true, value: "function" });
  });

  it("reports a thrown error, an unknown function, another account's ARN and a timeout as failures", async () => {
    const thrown = await functions.invoke("throws", {});
    assert.equal(!thrown.ok && thrown.failure.code, "function-error");
    assert.match(!thrown.ok ? thrown.failure.message : "", /RangeError: bad input/);
    const missing = await functions.invoke(functions.arn("nope"), {});
    assert.equal(!missing.ok && missing.failure.code, "function-not-found");
    const foreign = await functions.invoke("arn:aws:lambda:us-east-1:999999999999:function:echo", {});
    assert.equal(!foreign.ok && foreign.failure.code, "function-not-found");
    const quick = new LocalFunctions({ stateDir, region: "us-east-1", accountId: "123456789012", timeoutMs: 200 });
    const hung = await quick.invoke("hangs", {});
    await quick.close();
    assert.equal(!hung.ok && hung.failure.code, "function-timeout");
  });
});
