import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { creationFromPeaks, creationLimits, judgeMemory, memoryTable, parseMemoryLine, type CreationLimits, type MemoryPoint } from "../../host/cli/memory.js";

const root = join(import.meta.dirname, "../..");
const limits = { chunk: 40_000, slots: 3_000, stack: 600 };
const point = (name: string, chunkPeak: number, slotPeak: number, stackPeak: number): MemoryPoint =>
  ({ point: name, chunk: chunkPeak / 2, chunkPeak, slot: slotPeak / 2, slotPeak, stack: stackPeak / 2, stackPeak });
const run = [point("boot", 10_000, 32_000, 3_200), point("tls-handshake", 30_000, 64_000, 9_600), point("connack", 30_000, 64_000, 9_600), point("telemetry-20", 31_000, 64_000, 9_600)];

describe("memory figures from the simulator", () => {
  it("reads the probe's log line, and nothing else", () => {
    const line = '[Thread 1] memory: {"point":"connack","chunk":1,"chunkPeak":2,"slot":3,"slotPeak":4,"stack":5,"stackPeak":6}';
    assert.deepEqual(parseMemoryLine(line), { point: "connack", chunk: 1, chunkPeak: 2, slot: 3, slotPeak: 4, stack: 5, stackPeak: 6 });
    assert.equal(parseMemoryLine("[Thread 1] memory: {\"point\":\"x\"}"), undefined);
    assert.equal(parseMemoryLine("telemetry: #1 acknowledged"), undefined);
  });

  it("passes a run within the ESP32 creation sizes, comparing slots as slots (32 B in the simulator)", () => {
    const judged = judgeMemory("mtls", run, limits);
    assert.deepEqual(judged.problems, []);
    assert.deepEqual(judged.peak, { chunk: 31_000, slots: 2_000, stack: 300 });
  });

  it("fails a run whose peak exceeds a creation size, with the figure, and one that missed a point", () => {
    const judged = judgeMemory("wss-sigv4", run.slice(0, 3).concat(point("telemetry-20", 50_000, 128_000, 9_600)), limits);
    assert.deepEqual(judged.problems, [
      "wss-sigv4: chunk heap peak 50000 bytes exceeds the ESP32 creation.chunk.initial 40000",
      "wss-sigv4: slot heap peak 4000 slots exceeds the ESP32 creation.heap.initial 3000",
    ]);
    assert.match(judgeMemory("mtls", run.slice(0, 2), limits).problems.join(), /no figures at connack/);
  });

  it("prints one row per point and the creation sizes", () => {
    const table = memoryTable([judgeMemory("mtls", run, limits)], limits);
    assert.match(table, /\| mtls \| tls-handshake \| 15,000 \| 30,000 \| 1,000 \| 2,000 \| 300 \|/);
    assert.match(table, /\| ESP32 creation \| \| \| 40,000 \| \| 3,000 \| 600 \|/);
  });

  it("reads the creation sizes of the ESP32 manifest", () => {
    const esp32 = JSON.parse(readFileSync(join(root, "manifests/esp32.json"), "utf8"));
    const read = creationLimits(esp32.creation);
    assert.equal(read.chunk, esp32.creation.chunk.initial);
    assert.equal(read.slots, esp32.creation.heap.initial);
    assert.throws(() => creationLimits({}), /creation.chunk.initial/);
  });

  it("derives the ESP32 creation sizes from the measured peaks with the stated margins", () => {
    assert.deepEqual(creationFromPeaks([{ chunk: 15_000, slots: 4_000, stack: 400 }, { chunk: 10_000, slots: 5_000, stack: 500 }]), { chunk: 35_840, slots: 6_272, stack: 768 });
  });

  it("the ESP32 manifest's creation sizes are those derived from the simulator's figures (docs/memory-simulator.json)", () => {
    const measured = JSON.parse(readFileSync(join(root, "docs/memory-simulator.json"), "utf8")) as { modes: Record<string, { peak: CreationLimits; points: MemoryPoint[] }> };
    assert.deepEqual(Object.keys(measured.modes), ["mtls", "mtls-alpn", "custom-auth", "wss-custom-auth", "wss-sigv4"]);
    for (const [mode, run] of Object.entries(measured.modes)) assert.deepEqual(run.points.map((p) => p.point), ["boot", "tls-handshake", "connack", "telemetry-20"], mode);
    const esp32 = JSON.parse(readFileSync(join(root, "manifests/esp32.json"), "utf8"));
    assert.deepEqual(creationLimits(esp32.creation), creationFromPeaks(Object.values(measured.modes).map((run) => run.peak)));
  });
});
