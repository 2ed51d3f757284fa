// The operator's side of the demo's Device Shadow step: once telemetry flows, change the
// device's desired telemetry interval through the stand-in's iot-data API (SigV4-signed by
// AWS's own SDK client, as a backend would), watch the device report it, and read the final
// shadow for the summary.
import { Agent } from "node:https";
import { GetThingShadowCommand, IoTDataPlaneClient, UpdateThingShadowCommand } from "@aws-sdk/client-iot-data-plane";

export interface ShadowEndpoint {
  ports: { https: number };
  serverCaPem: string;
  region: string;
  broker: { onMessage(listener: (message: { topic: string; payload: Buffer }) => void): () => void };
}

export interface ShadowSummary {
  /** the shadow's version at the end, undefined when it has none */
  shadowVersion?: number;
  /** the interval the device reported (undefined when it never did) */
  appliedIntervalMs?: number;
}

export interface ShadowOperator {
  /** Sets `desired.telemetryIntervalMs`; resolves the shadow version the update made. */
  requestInterval(ms: number): Promise<number>;
  /** Resolves true once the device has reported `ms` as its interval, false after `timeoutMs`. */
  reported(ms: number, timeoutMs: number): Promise<boolean>;
  summary(): Promise<ShadowSummary>;
  close(): void;
}

/** An operator for `thing`'s classic shadow on the stand-in's data endpoint. */
export function shadowOperator(core: ShadowEndpoint, thing: string, credentials: { accessKeyId: string; secretAccessKey: string }): ShadowOperator {
  const client = new IoTDataPlaneClient({
    region: core.region,
    endpoint: `https://localhost:${core.ports.https}`,
    credentials,
    requestHandler: { httpsAgent: new Agent({ ca: core.serverCaPem }) },
  });
  const decoder = new TextDecoder();
  const reportedIntervals: number[] = [];
  const waiters = new Set<() => void>();
  const unsubscribe = core.broker.onMessage((message) => {
    if (message.topic !== `$aws/things/${thing}/shadow/update/accepted`) return;
    const interval = (JSON.parse(message.payload.toString("utf8")) as { state?: { reported?: { telemetryIntervalMs?: unknown } } }).state?.reported?.telemetryIntervalMs;
    if (typeof interval !== "number") return;
    reportedIntervals.push(interval);
    for (const wake of waiters) wake();
  });
  return {
    async requestInterval(ms) {
      const output = await client.send(new UpdateThingShadowCommand({ thingName: thing, payload: new TextEncoder().encode(JSON.stringify({ state: { desired: { telemetryIntervalMs: ms } } })) }));
      return (JSON.parse(decoder.decode(output.payload)) as { version: number }).version;
    },
    reported(ms, timeoutMs) {
      if (reportedIntervals.includes(ms)) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (result: boolean) => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(result);
        };
        const check = () => { if (reportedIntervals.includes(ms)) done(true); };
        const timer = setTimeout(() => done(false), timeoutMs);
        waiters.add(check);
      });
    },
    async summary() {
      try {
        const output = await client.send(new GetThingShadowCommand({ thingName: thing }));
        const shadow = JSON.parse(decoder.decode(output.payload)) as { version: number; state: { reported?: { telemetryIntervalMs?: number } } };
        return { shadowVersion: shadow.version, appliedIntervalMs: shadow.state.reported?.telemetryIntervalMs };
      } catch {
        return {};
      }
    },
    close() {
      unsubscribe();
      client.destroy();
    },
  };
}
