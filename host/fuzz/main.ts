// `npm run fuzz -- [--count N] [--seed S] [--target NAME]`: the seeded fuzz run of every parser
// that reads outside bytes (host/fuzz/targets.ts), for as long as asked. Prints one line per
// target (cases, distinct outcomes, failures, seconds) and each failure with its seed; exits 1
// when any case failed.
import { oneOf, commandLine, runCli, wholeNumber, type CommandSpec } from "../cli/command-line.js";
import { fuzz, fuzzTargets } from "./targets.js";

const TARGETS = ["mqtt-decoder", "websocket-frames", "http-head", "credentials", "stand-in-frame-guard"] as const;

const COMMAND = {
  name: "npm run fuzz --",
  summary: "Feeds mutated MQTT packets, WebSocket frames, HTTP heads, credentials images and stand-in MQTT headers to their parsers, whole and split, and reports any exception, disagreement or broken bound.",
  options: {
    count: { value: "N", help: "cases per target (default 10000)" },
    seed: { value: "S", help: "first seed (default 1); the same seed replays the same cases" },
    target: { value: "NAME", help: `only this target: ${TARGETS.join(", ")}` },
  },
} satisfies CommandSpec;

async function main(): Promise<number> {
  const parsed = commandLine(COMMAND, process.argv.slice(2));
  if (!parsed) return 0;
  const { values } = parsed;
  const count = wholeNumber("count", values.count ?? "10000", 1, 100_000_000);
  const seed = wholeNumber("seed", values.seed ?? "1", 0, 0xffffffff);
  const only = values.target === undefined ? undefined : oneOf("target", values.target, TARGETS);
  let failed = 0;
  for (const target of await fuzzTargets()) {
    if (only && target.name !== only) continue;
    const started = process.hrtime.bigint();
    const report = fuzz(target, count, seed);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(`${target.name}: ${report.cases} cases, ${report.distinctOutcomes} distinct outcomes, ${report.failures.length} failures, ${seconds.toFixed(1)} s\n`);
    for (const failure of report.failures) process.stdout.write(`  seed ${failure.seed}: ${failure.problem}\n  input ${failure.input}\n`);
    failed += report.failures.length;
  }
  return failed === 0 ? 0 : 1;
}

runCli("npm run fuzz", main, COMMAND);
