// Runs one local function (a Lambda-style module) in its own worker thread, so it gets its
// own process.env (AWS_REGION, AWS_ENDPOINT_URL_IOT, credentials) as a Lambda runtime does.
// Kept as plain JavaScript: the worker must start without a TypeScript loader.
import { register } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";

// Function files live in the state directory, outside the project: let their bare imports
// (`@aws-sdk/client-iot`) resolve from the project's node_modules.
register("./resolve-fallback.mjs", import.meta.url);

const { file, functionName, functionArn, timeoutMs } = workerData;
const loaded = import(pathToFileURL(file).href);

parentPort.on("message", async ({ id, event, requestId }) => {
  const deadline = Date.now() + timeoutMs;
  const context = {
    functionName, invokedFunctionArn: functionArn, awsRequestId: requestId, functionVersion: "$LATEST",
    memoryLimitInMB: "128", logGroupName: `/aws/lambda/${functionName}`, callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const mod = await loaded;
    const handler = mod.handler ?? mod.default?.handler ?? mod.default;
    if (typeof handler !== "function") throw new TypeError(`${file} exports no handler function`);
    const value = handler.length >= 3
      ? await new Promise((resolve, reject) => {
          const r = handler(event, context, (error, result) => (error ? reject(error) : resolve(result)));
          if (r && typeof r.then === "function") r.then(resolve, reject);
        })
      : await handler(event, context);
    parentPort.postMessage({ id, ok: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    parentPort.postMessage({ id, ok: false, errorType: e.name, errorMessage: e.message });
  }
});
