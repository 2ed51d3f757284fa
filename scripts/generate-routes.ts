// `npm run iotcore:routes`: writes each service's route table (`services/<name>/routes.json`)
// from the public service model the AWS SDK for JavaScript v3 ships with each client (the
// operation and structure schemas `@aws-sdk/client-*` export as `<Operation>$`), for the
// operations the stand-in's services implement: it starts the stand-in in a temporary folder
// and asks each service for its handlers. `host-tests/iotcore/routes.test.ts` fails when a
// committed table differs from what this would write.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NormalizedSchema } from "@smithy/core/schema";
import type { MemberSpec, Protocol, RouteTable, ShapeSpec } from "../host/iotcore/control/routes.js";

/** Where each service's model comes from and how it travels. */
export const MODELS: Record<string, { client: string; protocol: Protocol; signingName?: string; targetPrefix?: string; version?: string }> = {
  iot: { client: "@aws-sdk/client-iot", protocol: "restJson1" },
  "fleet-provisioning": { client: "@aws-sdk/client-iot", protocol: "restJson1", signingName: "iot" },
  jobs: { client: "@aws-sdk/client-iot", protocol: "restJson1", signingName: "iot" },
  streams: { client: "@aws-sdk/client-iot", protocol: "restJson1", signingName: "iot" },
  "cognito-identity": { client: "@aws-sdk/client-cognito-identity", protocol: "awsJson1_1", targetPrefix: "AWSCognitoIdentityService" },
  acm: { client: "@aws-sdk/client-acm", protocol: "awsJson1_1", targetPrefix: "CertificateManager" },
  iam: { client: "@aws-sdk/client-iam", protocol: "awsQuery", version: "2010-05-08" },
  iotdata: { client: "@aws-sdk/client-iot-data-plane", protocol: "restJson1" },
};

/** The route table for `operations` of the service `service` (its folder name). */
export function routeTable(service: string, operations: string[]): RouteTable {
  const source = MODELS[service];
  if (!source) throw new Error(`no model source for service '${service}': add it to MODELS in scripts/generate-routes.ts`);
  const signingName = source.signingName ?? service;
  const require = createRequire(import.meta.url);
  const client = require(source.client) as Record<string, unknown>;
  const shapes: Record<string, ShapeSpec> = {};
  const table: RouteTable = {
    model: source.client.replace("@aws-sdk/client-", ""), signingName, protocol: source.protocol,
    ...(source.targetPrefix ? { targetPrefix: source.targetPrefix } : {}),
    ...(source.version ? { version: source.version } : {}),
    operations: {}, shapes,
  };
  for (const name of [...operations].sort()) {
    const schema = client[`${name}$`] as unknown[] | undefined;
    if (!Array.isArray(schema) || schema[0] !== 9) throw new Error(`${source.client} has no operation ${name}`);
    const traits = schema[3] as { http?: [string, string, number] } | 0;
    const input = NormalizedSchema.of(schema[4] as never);
    const inputName = input.isStructSchema() ? shapeOf(input, shapes) : undefined;
    const output = NormalizedSchema.of(schema[5] as never);
    let outputBlob: string | undefined;
    if (output.isStructSchema()) {
      for (const [member, s] of output.structIterator()) if ((s.getMergedTraits() as Record<string, unknown>).httpPayload && s.isBlobSchema()) outputBlob = member;
    }
    table.operations[name] = {
      ...(traits && traits.http ? { http: { method: traits.http[0], uri: traits.http[1] } } : {}),
      ...(inputName && inputName !== "Unit" ? { input: inputName } : {}),
      ...(outputBlob ? { outputBlob } : {}),
    };
  }
  return table;
}

/** Adds the shape (and those it refers to) to `shapes`; returns its name or primitive type. */
function shapeOf(schema: NormalizedSchema, shapes: Record<string, ShapeSpec>): string {
  if (schema.isStringSchema()) return "string";
  if (schema.isBooleanSchema()) return "boolean";
  if (schema.isNumericSchema() || schema.isBigIntegerSchema() || schema.isBigDecimalSchema()) return "number";
  if (schema.isTimestampSchema()) return "timestamp";
  if (schema.isBlobSchema()) return "blob";
  if (schema.isDocumentSchema()) return "document";
  const name = schema.getName() ?? "Unnamed";
  if (shapes[name]) return name;
  if (schema.isListSchema()) {
    shapes[name] = { type: "list", member: "" };
    shapes[name] = { type: "list", member: shapeOf(schema.getValueSchema(), shapes) };
  } else if (schema.isMapSchema()) {
    shapes[name] = { type: "map", key: "string", value: "" };
    shapes[name] = { type: "map", key: "string", value: shapeOf(schema.getValueSchema(), shapes) };
  } else {
    const members: Record<string, MemberSpec> = {};
    const spec: ShapeSpec = { type: "structure", members };
    shapes[name] = spec;
    const raw = schema.getSchema() as unknown as unknown[];
    const requiredCount = typeof raw[6] === "number" ? raw[6] : 0;
    const required: string[] = [];
    let index = 0;
    for (const [memberName, member] of schema.structIterator()) {
      const t = member.getMergedTraits() as Record<string, unknown>;
      const where: Partial<MemberSpec> =
        t.httpLabel ? { in: "uri", name: memberName } :
        typeof t.httpQuery === "string" ? { in: "query", name: t.httpQuery } :
        typeof t.httpHeader === "string" ? { in: "header", name: t.httpHeader } :
        t.httpPayload ? { in: "payload" } : {};
      if (where.name === memberName) delete where.name;
      members[memberName] = { target: shapeOf(member, shapes), ...where };
      if (index++ < requiredCount) required.push(memberName);
    }
    if (required.length > 0) spec.required = required;
  }
  return name;
}

async function main(): Promise<void> {
  const { startIotCore } = await import("../host/iotcore/index.js");
  const dir = mkdtempSync(join(tmpdir(), "iotcore-routes-"));
  try {
    const core = await startIotCore({ stateDir: dir, log: () => undefined });
    try {
      for (const service of core.services) {
        if (!service.api) continue;
        const table = routeTable(service.name, Object.keys(service.api.operations));
        const file = new URL(`../host/iotcore/services/${service.name}/routes.json`, import.meta.url);
        writeFileSync(file, `${JSON.stringify(table, null, 1)}\n`);
        process.stdout.write(`${service.name}: ${Object.keys(table.operations).length} operations -> ${file.pathname}\n`);
      }
    } finally {
      await core.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
