// A bounded, seeded run of the fuzz suite (host/fuzz/targets.ts) on every `npm test`: each
// parser that reads outside bytes gets mutated input whole and split, and must neither throw,
// nor break its bound, nor answer differently for the same bytes cut differently. Longer runs:
// `npm run fuzz -- --count N`.
import assert from "node:assert/strict";
import { fuzz, fuzzTargets, mutate, Random, split, type Target } from "../../host/fuzz/targets.js";

const CASES = 1500;
const SEED = 20261129;

describe("fuzz: parsers of outside bytes, whole and split", function () {
  this.timeout(60_000);
  let targets: Target[] = [];
  before(async () => { targets = await fuzzTargets(); });

  for (const name of ["mqtt-decoder", "websocket-frames", "http-head", "credentials", "stand-in-frame-guard"]) {
    it(`${name}: ${CASES} seeded cases, no exception, no broken bound, the same outcome whole and split`, () => {
      const target = targets.find((t) => t.name === name)!;
      const report = fuzz(target, CASES, SEED);
      assert.deepEqual(report.failures, []);
      assert.ok(report.distinctOutcomes > 1, "the mutations reach more than one outcome");
    });
  }

  it("replays the same cases for the same seed", () => {
    const a = new Random(7);
    const b = new Random(7);
    const input = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(mutate(input, a), mutate(input, b));
    assert.deepEqual(split(input, a).map((p) => [...p]), split(input, b).map((p) => [...p]));
  });

  it("reports a parser that answers differently when its input is split", () => {
    const target: Target = { name: "chunk-sensitive", seeds: [new Uint8Array([1, 2, 3, 4])], outcome: (pieces) => String(pieces.length) };
    const report = fuzz(target, 50, 1);
    assert.ok(report.failures.some((f) => /whole and split feeding disagree/.test(f.problem)));
  });

  it("reports a parser that throws, with the seed that replays it", () => {
    const target: Target = { name: "throws", seeds: [new Uint8Array([1])], outcome: () => { throw new Error("boom"); } };
    const report = fuzz(target, 3, 5);
    assert.equal(report.failures.length, 3);
    assert.match(report.failures[0]!.problem, /threw Error: boom/);
    assert.equal(typeof report.failures[0]!.seed, "number");
  });
});
