// The stand-in's broker reaches into aedes where aedes has no option for what AWS does (see
// host/iotcore/dataplane/aedes-adapter.ts). These tests fail, naming the member, as soon as an
// aedes release moves one of those internals; the pin in package.json must match the adapter.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PassThrough, Duplex } from "node:stream";
import { AEDES_VERSION, AedesAdapter, requireInternals } from "../../host/iotcore/dataplane/aedes-adapter.js";

/** A connection aedes can serve that carries nothing. */
function idleStream(): Duplex {
  return Duplex.from({ readable: new PassThrough(), writable: new PassThrough() });
}

describe("aedes adapter", () => {
  let adapter: AedesAdapter;
  before(async () => { adapter = await AedesAdapter.create({}); });
  after(() => adapter.close());

  it("is pinned in package.json to exactly the aedes release it reads, and that release is installed", () => {
    const manifest = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies: Record<string, string> };
    assert.equal(manifest.dependencies.aedes, AEDES_VERSION, "package.json must pin aedes exactly (no ^ or ~)");
    const installed = JSON.parse(readFileSync("node_modules/aedes/package.json", "utf8")) as { version: string };
    assert.equal(installed.version, AEDES_VERSION);
  });

  it("finds every internal it uses on a live broker and client (parser, deliverQoS, duplicates, keep-alive timer, clients, persistence)", () => {
    const stream = idleStream();
    const client = adapter.aedes.handle(stream);
    try {
      assert.doesNotThrow(() => requireInternals(adapter.aedes, client));
    } finally {
      stream.destroy();
    }
  });

  for (const member of ["_parser", "deliverQoS", "duplicates"]) {
    it(`fails naming Client.${member} when a release no longer has it`, () => {
      const stream = idleStream();
      const client = adapter.aedes.handle(stream);
      try {
        const moved = Object.assign(Object.create(Object.getPrototypeOf(client)), client, { [member]: undefined });
        assert.throws(() => requireInternals(adapter.aedes, moved), new RegExp(`aedes changed: Client\\.${member} is undefined`));
      } finally {
        stream.destroy();
      }
    });
  }

  it("lets a message overtaken by a later one through once, and the same message a second time not at all", () => {
    const stream = idleStream();
    const client = adapter.aedes.handle(stream);
    try {
      const message = (brokerCounter: number) => ({ cmd: "publish", topic: "t", payload: Buffer.from("x"), qos: 1, retain: false, dup: false, brokerId: "b", brokerCounter }) as unknown as Parameters<AedesAdapter["firstDelivery"]>[1];
      // The session store may finish message 8's writes before message 7's: both must go out.
      assert.equal(adapter.firstDelivery(client, message(8)), true);
      assert.equal(adapter.firstDelivery(client, message(7)), true);
      // aedes' own mark is lowered so its delivery does not drop message 7 as a duplicate.
      assert.equal((client as unknown as { duplicates: Record<string, number> }).duplicates.b ?? 0, 0);
      // The same message through a second matching subscription is delivered once only.
      assert.equal(adapter.firstDelivery(client, message(8)), false);
    } finally {
      stream.destroy();
    }
  });

  it("fails naming the release when another aedes version is installed", () => {
    const stream = idleStream();
    const client = adapter.aedes.handle(stream);
    try {
      const other = Object.create(adapter.aedes, { version: { value: "2.0.0" } });
      assert.throws(() => requireInternals(other, client), /aedes 2\.0\.0 is installed; the stand-in's broker is written for aedes 1\.2\.0/);
    } finally {
      stream.destroy();
    }
  });
});
