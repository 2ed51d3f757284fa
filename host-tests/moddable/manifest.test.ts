import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_PARTITION_SIZE, partitionSizeFor } from "../../certs/image.js";
import { credentialsPartitionOffset } from "../../host/cli/moddable.js";

const root = join(import.meta.dirname, "../..");
const json = (path: string) => JSON.parse(readFileSync(join(root, path), "utf8"));

describe("Moddable manifests", () => {
  it("the development manifest builds the firmware with every mode and starts the Moddable main module", () => {
    const app = json("manifest.json");
    assert.deepEqual(app.include, ["./manifests/firmware.json"]);
    assert.equal(app.modules["connection/*"], "$(FIRMWARE)/connection/*");
    const firmware = json("manifests/firmware.json");
    assert.deepEqual(firmware.include, ["./device.json"]);
    assert.equal(firmware.modules["connection/session"], "$(FIRMWARE)/connection/session");
    const device = json("manifests/device.json");
    assert.equal(device.build.FIRMWARE, "./../firmware");
    assert.equal(device.creation.main, "platform/moddable/main");
    assert.equal(device.modules["platform/moddable/main"], "$(FIRMWARE)/platform/moddable/main");
  });

  it("turns off DHE_RSA suites, which break mutual TLS in Moddable's TLS stack", () => {
    assert.equal(json("manifests/base.json").config.tls.DHE_RSA, false);
  });

  it("maps the partition reader to Flash on ESP32 and to no partition in the simulator", () => {
    const base = json("manifests/base.json");
    assert.equal(base.platforms.esp32.include, "./esp32.json");
    assert.equal(base.platforms.lin.include, "./simulator.json");
    assert.equal(json("manifests/esp32.json").modules["platform/moddable/flash"], "$(FIRMWARE)/platform/moddable/flash");
    assert.equal(json("manifests/simulator.json").modules["platform/moddable/flash"], "$(FIRMWARE)/platform/moddable/flash-none");
  });

  it("ESP32 build uses Moddable's network setup and our partition table (its creation sizes: host-tests/moddable/memory.test.ts)", () => {
    const esp32 = json("manifests/esp32.json");
    assert.ok(esp32.include.includes("$(MODDABLE)/examples/manifest_net.json"));
    assert.ok(existsSync(join(root, "manifests", esp32.build.PARTITIONS_FILE)));
  });

  it("has a manifest per connection mode that includes the firmware, maps connection/mode to that mode and sets it", () => {
    for (const mode of ["mtls", "mtls-alpn", "custom-auth", "wss-custom-auth", "wss-sigv4"]) {
      const manifest = json(`manifests/modes/${mode}.json`);
      assert.deepEqual(manifest.include, ["../firmware.json"]);
      assert.equal(manifest.modules["connection/mode"], `$(FIRMWARE)/connection/${mode}`);
      assert.equal(manifest.config.mode, mode);
    }
    for (const mode of ["https-mtls", "https-mtls-alpn", "https-sigv4", "https-custom-auth"]) {
      const manifest = json(`manifests/modes/${mode}.json`);
      assert.deepEqual(manifest.include, ["../device.json"]);
      assert.equal(manifest.modules["connection/mode"], `$(FIRMWARE)/connection/${mode}`);
      assert.equal(manifest.modules["connection/session"], "$(FIRMWARE)/https/session");
      assert.equal(manifest.config.mode, mode);
    }
  });
});

describe("ESP32 partition table", () => {
  const csv = readFileSync(join(root, "manifests/esp32/partitions.csv"), "utf8");
  const rows = csv.split("\n").filter((l) => l.trim() && !l.startsWith("#")).map((l) => l.split(",").map((c) => c.trim()));

  it("has a devcerts data partition large enough for a credentials image with a 2-certificate chain", () => {
    const slot = credentialsPartitionOffset(csv);
    assert.ok(slot);
    assert.equal(slot.offset % 4096, 0);
    // The size `npm run certs` pads images to, and room for an RSA-2048 key, a 2-certificate chain and a root CA.
    assert.equal(slot.size, DEFAULT_PARTITION_SIZE);
    assert.ok(slot.size >= partitionSizeFor(1300 + 3 * 1000 + 256));
    assert.equal(rows.find((r) => r[0] === "devcerts")?.[2], "0x40");
  });

  it("has two app slots of one size for over-the-air updates, and otadata to say which boots", () => {
    const apps = rows.filter((r) => r[1] === "app");
    assert.deepEqual(apps.map((r) => r[2]), ["ota_0", "ota_1"]);
    assert.equal(apps[0]![4], apps[1]![4]);
    assert.equal(Number(apps[0]![3]) % 0x10000, 0, "app partitions are 64 KB aligned");
    assert.equal(Number(apps[1]![3]) % 0x10000, 0);
    assert.deepEqual(rows.find((r) => r[0] === "otadata")?.slice(1, 3), ["data", "ota"]);
    assert.equal(Number(rows.find((r) => r[0] === "otadata")![4]), 0x2000);
  });

  it("partitions do not overlap and fit a 4 MB flash", () => {
    let end = 0;
    for (const [, , , offset, size] of rows) {
      assert.ok(Number(offset) >= end, `partition at ${offset} overlaps the previous one`);
      end = Number(offset) + Number(size);
    }
    assert.ok(end <= 4 * 1024 * 1024);
  });
});
