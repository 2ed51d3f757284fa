// The fleet report as one SVG image: devices online over time, CONNECT requests per second
// against the account's limit (the restart marked), and how many CONNECTs each device needed.
// Plain SVG written here: three small panels need no charting library.

import type { FleetReport } from "./report.js";

const WIDTH = 900;
const PANEL = 220;
const LEFT = 60;
const RIGHT = 20;
const TOP = 64;
const GAP = 70;

const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

interface Panel {
  y: number;
  title: string;
  xLabel: string;
  xMax: number;
  yMax: number;
}

/** A round step (1, 2 or 5 times a power of ten) that cuts `max` into at most `parts` parts. */
function roundStep(max: number, parts: number): number {
  const rough = Math.max(max / parts, 1);
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= rough) ?? rough;
}

/** The frame, axes, ticks and title of one panel; returns its SVG and the scale functions. */
function frame(panel: Panel): { svg: string; x: (v: number) => number; y: (v: number) => number } {
  const xStep = roundStep(panel.xMax, 8);
  const yStep = roundStep(panel.yMax, 5);
  // The vertical axis ends on a round tick; the horizontal one where the run ended.
  const p = { ...panel, yMax: Math.ceil(panel.yMax / yStep) * yStep };
  const plotWidth = WIDTH - LEFT - RIGHT;
  const x = (v: number) => LEFT + (p.xMax === 0 ? 0 : (v / p.xMax) * plotWidth);
  const y = (v: number) => p.y + PANEL - (p.yMax === 0 ? 0 : (v / p.yMax) * PANEL);
  const parts = [
    `<text x="${LEFT}" y="${p.y - 10}" font-size="14" font-weight="bold">${esc(p.title)}</text>`,
    `<line x1="${LEFT}" y1="${p.y + PANEL}" x2="${WIDTH - RIGHT}" y2="${p.y + PANEL}" stroke="#333"/>`,
    `<line x1="${LEFT}" y1="${p.y}" x2="${LEFT}" y2="${p.y + PANEL}" stroke="#333"/>`,
    `<text x="${WIDTH - RIGHT}" y="${p.y + PANEL + 32}" font-size="11" text-anchor="end">${esc(p.xLabel)}</text>`,
  ];
  for (let v = 0; v <= p.yMax; v += yStep) {
    parts.push(`<text x="${LEFT - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v}</text>`, `<line x1="${LEFT}" y1="${y(v)}" x2="${WIDTH - RIGHT}" y2="${y(v)}" stroke="#eee"/>`);
  }
  for (let v = 0; v <= p.xMax; v += xStep) parts.push(`<text x="${x(v)}" y="${p.y + PANEL + 14}" font-size="10" text-anchor="middle">${v}</text>`);
  return { svg: parts.join(""), x, y };
}

/** The report's chart as an SVG document. */
export function reportChart(report: FleetReport): string {
  const durationS = Math.max(1, report.connects.perSecond.length);
  const restartS = report.run.restartAtS;
  const parts: string[] = [];

  // 1. Devices online over time.
  const online = frame({ y: TOP, title: `Devices online (of ${report.run.devices})`, xLabel: "seconds since power-on", xMax: durationS, yMax: Math.max(1, report.run.devices) });
  parts.push(online.svg);
  const line = report.onlineOverTime.map(([s, n]) => `${online.x(s).toFixed(1)},${online.y(n).toFixed(1)}`).join(" ");
  parts.push(`<polyline points="${line}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);

  // 2. CONNECT requests per second against the account's limit.
  const limit = report.limits.connectsPerSecond;
  const peak = Math.max(1, ...report.connects.perSecond);
  const connects = frame({ y: TOP + PANEL + GAP, title: `CONNECT requests per second (account limit ${limit}/s, dashed)`, xLabel: "seconds since power-on", xMax: durationS, yMax: Math.max(peak, Math.min(limit, peak * 2)) });
  parts.push(connects.svg);
  const barWidth = Math.max(1, (WIDTH - LEFT - RIGHT) / durationS - 1);
  report.connects.perSecond.forEach((n, s) => {
    if (n > 0) parts.push(`<rect x="${connects.x(s).toFixed(1)}" y="${connects.y(n).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(connects.y(0) - connects.y(n)).toFixed(1)}" fill="${n > limit ? "#d62728" : "#2ca02c"}"/>`);
  });
  if (limit <= Math.max(peak, Math.min(limit, peak * 2))) {
    parts.push(`<line x1="${LEFT}" y1="${connects.y(limit)}" x2="${WIDTH - RIGHT}" y2="${connects.y(limit)}" stroke="#d62728" stroke-dasharray="6 4"/>`);
  }
  for (const panel of [online, connects]) {
    if (restartS !== undefined) {
      const x = panel.x(restartS);
      const top = panel === online ? TOP : TOP + PANEL + GAP;
      parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + PANEL}" stroke="#9467bd" stroke-dasharray="3 3"/>`, `<text x="${x + 4}" y="${top + 12}" font-size="10" fill="#9467bd">stand-in restart</text>`);
    }
  }

  // 3. CONNECT requests per device.
  const histogram = report.connects.perDevice.histogram;
  const maxAttempts = Math.max(1, ...histogram.map((h) => h.attempts));
  const maxDevices = Math.max(1, ...histogram.map((h) => h.devices));
  const { p50, p95, p99 } = report.connects.perDevice;
  const perDevice = frame({ y: TOP + 2 * (PANEL + GAP), title: `CONNECT requests per device (p50 ${p50}, p95 ${p95}, p99 ${p99})`, xLabel: "CONNECT requests", xMax: maxAttempts + 1, yMax: maxDevices });
  parts.push(perDevice.svg);
  const column = Math.max(2, (WIDTH - LEFT - RIGHT) / (maxAttempts + 1) - 2);
  for (const { attempts, devices } of histogram) {
    parts.push(`<rect x="${(perDevice.x(attempts) - column / 2).toFixed(1)}" y="${perDevice.y(devices).toFixed(1)}" width="${column.toFixed(1)}" height="${(perDevice.y(0) - perDevice.y(devices)).toFixed(1)}" fill="#ff7f0e"/>`);
  }

  const height = TOP + 3 * (PANEL + GAP);
  const t = report.telemetry;
  const summary = `${report.run.devices} devices, ${report.run.provisioning}, ${report.run.mode}: ${t.acknowledged} acknowledged, ${t.received} received, ${t.lost} lost, ${t.duplicated} duplicated`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`
    + `<rect width="100%" height="100%" fill="white"/><text x="${LEFT}" y="18" font-size="13">${esc(summary)}</text>${parts.join("")}</svg>\n`;
}
