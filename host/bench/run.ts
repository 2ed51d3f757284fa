// `npm run bench [-- --json]`: host figures, ours beside a peer doing the same work in the
// same run, with ratios. Each section is its own module; add new ones to SECTIONS.

import { buildSizeSection } from "./sections/build-size.js";
import { jitpSection } from "./sections/jitp.js";
import { codecSection } from "./sections/mqtt-codec.js";
import { roundTripSection } from "./sections/mqtt-roundtrip.js";
import { ratio, type BenchSection, type Figure } from "./section.js";
import { xsSection } from "./xs-section.js";
import { commandLine, runCli, type CommandSpec } from "../cli/command-line.js";

const SECTIONS: BenchSection[] = [codecSection, roundTripSection, xsSection, buildSizeSection, jitpSection];

const COMMAND = {
  name: "npm run bench --",
  summary: "Host figures, ours beside a peer doing the same work in the same run, with ratios.",
  options: { json: { kind: "flag", help: "print one JSON object instead of the table" } },
} satisfies CommandSpec;

async function main(): Promise<number> {
  const parsed = commandLine(COMMAND, process.argv.slice(2));
  if (!parsed) return 0;
  const json = parsed.values.json === true;
  const log = (line: string) => { if (!json) process.stderr.write(`  ${line}\n`); };
  const report: { section: string; figures: (Figure & { ratio?: number })[]; error?: string }[] = [];
  let failed = false;
  for (const section of SECTIONS) {
    if (!json) console.log(`\n${section.name}`);
    try {
      const figures = (await section.run(log)).map((f) => ({ ...f, ratio: ratio(f) }));
      report.push({ section: section.name, figures });
      if (!json) for (const f of figures) console.log(formatFigure(f));
    } catch (e) {
      failed = true;
      report.push({ section: section.name, figures: [], error: String(e) });
      if (!json) console.log(`  could not run: ${e}`);
    }
  }
  if (json) console.log(JSON.stringify({ node: process.version, date: new Date().toISOString(), sections: report }, null, 2));
  return failed ? 1 : 0;
}

function formatFigure(f: Figure & { ratio?: number }): string {
  const n = (v: number) => v.toLocaleString("en-US", { maximumFractionDigits: v < 100 ? 2 : 0 });
  let line = `  ${f.name}: ours ${n(f.ours)} ${f.unit}`;
  if (f.peer) line += `, ${f.peer.name} ${n(f.peer.value)} ${f.unit}`;
  if (f.ratio !== undefined) line += ` -> ${f.ratio.toFixed(2)}x ${f.higherIsBetter ? "(higher is better)" : "(lower is better)"}`;
  return line;
}

runCli("npm run bench", main, COMMAND);
