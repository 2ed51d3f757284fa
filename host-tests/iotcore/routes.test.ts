// The control plane's route tables: generated from the AWS SDK's service models for exactly the
// operations the services implement, committed, and decoded as the model places each member.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeInput, matchRestRoute, restRoutes, type RouteTable } from "../../host/iotcore/control/routes.js";
import { routeTable } from "../../scripts/generate-routes.js";
import { startCore, tempDir } from "./helpers.js";

describe("control-plane route tables", () => {
  const dir = tempDir("routes");
  let core: Awaited<ReturnType<typeof startCore>>;
  before(async () => { core = await startCore(dir.path); });
  after(async () => {
    await core?.close();
    dir.remove();
  });

  it("are what npm run iotcore:routes generates for every service's operations (run it after adding one)", () => {
    for (const service of core.services) {
      if (!service.api) continue;
      const generated = routeTable(service.name, Object.keys(service.api.operations));
      assert.deepEqual(JSON.parse(JSON.stringify(service.api.routes)), generated, `services/${service.name}/routes.json is stale: run npm run iotcore:routes`);
    }
  });

  it("are each named in docs/iotcore-compatibility.md, the compatibility table", () => {
    const doc = readFileSync(new URL("../../docs/iotcore-compatibility.md", import.meta.url), "utf8");
    for (const service of core.services) {
      for (const operation of Object.keys(service.api?.operations ?? {})) assert.ok(doc.includes(`\`${operation}\``), `${service.name} ${operation} is not in docs/iotcore-compatibility.md`);
    }
  });

  it("find IoT operations by method and path, with path, query and header members placed as the model says", () => {
    const table = core.iot.api!.routes as RouteTable;
    const routes = restRoutes(table);
    const find = (method: string, path: string) => matchRestRoute(routes, method, path)!;
    const decode = (method: string, path: string, query: string, headers: Record<string, string>, body: unknown) => {
      const { route, path: vars } = find(method, path);
      return { operation: route.operation, input: { ...decodeInput(table, route.operation, { path: vars, query: new URLSearchParams(query), headers, body }) } };
    };
    assert.deepEqual(decode("PUT", "/certificates/abc", "newStatus=ACTIVE", {}, {}), { operation: "UpdateCertificate", input: { certificateId: "abc", newStatus: "ACTIVE" } });
    assert.deepEqual(decode("PUT", "/principal-policies/p1", "", { "x-amzn-iot-principal": "arn:x" }, {}), { operation: "AttachPrincipalPolicy", input: { policyName: "p1", principal: "arn:x" } });
    assert.deepEqual(decode("POST", "/cacertificate", "setAsActive=true", {}, { caCertificate: "pem" }), { operation: "RegisterCACertificate", input: { caCertificate: "pem", setAsActive: true } });
    assert.equal(find("GET", "/things/t1/principals").route.operation, "ListThingPrincipals");
  });
});
