// `npm run sim -- --memory`: the firmware's memory in the simulator, read by its memory probe
// (firmware/platform/moddable/memory.ts) at boot, at the end of the first TLS handshake, at the
// first CONNACK and after 20 acknowledged messages, held against the ESP32 manifest's creation
// sizes (manifests/esp32.json). Pure: the simulator's log lines in, a table and a verdict out.

/** Bytes per XS slot in the 64-bit desktop simulator; the ESP32 (32-bit) has 16. Slots and stack are compared in slots. */
export const SIM_SLOT_BYTES = 32;
/** Acknowledged messages before the last figures (firmware/platform/moddable/main.ts marks the same). */
export const MEASURED_MESSAGES = 20;
export const MEASURED_POINTS = ["boot", "tls-handshake", "connack", `telemetry-${MEASURED_MESSAGES}`] as const;

export interface MemoryPoint {
  point: string;
  chunk: number;
  chunkPeak: number;
  slot: number;
  slotPeak: number;
  stack: number;
  stackPeak: number;
}

/** The ESP32 creation sizes: chunk heap bytes, slot heap and stack in slots. */
export interface CreationLimits {
  chunk: number;
  slots: number;
  stack: number;
}

export interface ModeMemory {
  mode: string;
  points: MemoryPoint[];
  /** Peaks over the run: chunk bytes, slot heap and stack in slots. */
  peak: CreationLimits;
  /** One sentence per limit exceeded (or a point missing); empty when the run fits. */
  problems: string[];
}

/** The figures of a `memory: {...}` log line, or undefined for any other line. */
export function parseMemoryLine(line: string): MemoryPoint | undefined {
  const match = /memory: (\{.*\})\s*$/.exec(line);
  if (!match) return undefined;
  try {
    const json = JSON.parse(match[1]!) as Record<string, unknown>;
    const numbers = ["chunk", "chunkPeak", "slot", "slotPeak", "stack", "stackPeak"] as const;
    if (typeof json.point !== "string" || numbers.some((n) => typeof json[n] !== "number")) return undefined;
    return json as unknown as MemoryPoint;
  } catch {
    return undefined;
  }
}

/** The creation sizes of an ESP32 manifest's `creation` object. Throws naming the field when one is missing. */
export function creationLimits(creation: { chunk?: { initial?: number }; heap?: { initial?: number }; stack?: number }): CreationLimits {
  const chunk = creation.chunk?.initial;
  const slots = creation.heap?.initial;
  const stack = creation.stack;
  if (!chunk || !slots || !stack) throw new Error("manifests/esp32.json: creation.chunk.initial, creation.heap.initial and creation.stack must be set");
  return { chunk, slots, stack };
}

const slotsOf = (bytes: number) => Math.ceil(bytes / SIM_SLOT_BYTES);

/**
 * The run's figures against `limits`: a problem for each `required` point not reached (the
 * HTTPS modes have no CONNACK) and each peak over its limit.
 */
export function judgeMemory(mode: string, points: MemoryPoint[], limits: CreationLimits, required: readonly string[] = MEASURED_POINTS): ModeMemory {
  const last = points.at(-1);
  const peak = { chunk: last?.chunkPeak ?? 0, slots: slotsOf(last?.slotPeak ?? 0), stack: slotsOf(last?.stackPeak ?? 0) };
  const problems: string[] = [];
  for (const point of required) if (!points.some((p) => p.point === point)) problems.push(`${mode}: no figures at ${point} (the run ended before it)`);
  if (peak.chunk > limits.chunk) problems.push(`${mode}: chunk heap peak ${peak.chunk} bytes exceeds the ESP32 creation.chunk.initial ${limits.chunk}`);
  if (peak.slots > limits.slots) problems.push(`${mode}: slot heap peak ${peak.slots} slots exceeds the ESP32 creation.heap.initial ${limits.slots}`);
  if (peak.stack > limits.stack) problems.push(`${mode}: stack peak ${peak.stack} slots exceeds the ESP32 creation.stack ${limits.stack}`);
  return { mode, points, peak, problems };
}

/** A Markdown table: one row per mode and point (chunk heap in bytes, slot heap and stack in slots). */
export function memoryTable(runs: ModeMemory[], limits: CreationLimits): string {
  const n = (value: number) => value.toLocaleString("en-US");
  const rows = ["| mode | point | chunk heap (B) | peak | slot heap (slots) | peak | stack peak (slots) |", "|---|---|---|---|---|---|---|"];
  for (const run of runs) {
    for (const p of run.points) rows.push(`| ${run.mode} | ${p.point} | ${n(p.chunk)} | ${n(p.chunkPeak)} | ${n(slotsOf(p.slot))} | ${n(slotsOf(p.slotPeak))} | ${n(slotsOf(p.stackPeak))} |`);
  }
  rows.push(`| ESP32 creation | | | ${n(limits.chunk)} | | ${n(limits.slots)} | ${n(limits.stack)} |`);
  return rows.join("\n");
}

/**
 * The margins between the simulator's peaks and the ESP32 creation sizes:
 * - heap slots x1.25: the board's build carries modules the simulator's does not (Wi-Fi and
 *   network set-up, SNTP), and a real server's certificate chain is larger than the stand-in's;
 * - chunk heap x1.25 plus one 16 KB TLS record (2^14 bytes of plaintext, RFC 5246 6.2.1):
 *   Moddable's TLS stack holds a whole record before decrypting it, and the stand-in sends small
 *   records where AWS IoT Core may send full ones (the 64-bit simulator's chunks are already
 *   larger than the ESP32's, which only adds room);
 * - stack x1.5: running out of stack aborts the machine, and the deepest paths (ASN.1 and
 *   big-number code in the handshake) vary with the certificates.
 */
export const MARGINS = { slots: 1.25, chunk: 1.25, chunkRecordBytes: 16_384, stack: 1.5 } as const;

const roundUp = (value: number, step: number) => Math.ceil(value / step) * step;

/** ESP32 creation sizes derived from the peaks of every mode with MARGINS (chunk to 1 KB, slots and stack to 64 slots). */
export function creationFromPeaks(peaks: CreationLimits[]): CreationLimits {
  const max = (key: keyof CreationLimits) => Math.max(...peaks.map((p) => p[key]));
  return {
    chunk: roundUp(max("chunk") * MARGINS.chunk + MARGINS.chunkRecordBytes, 1024),
    slots: roundUp(max("slots") * MARGINS.slots, 64),
    stack: roundUp(max("stack") * MARGINS.stack, 64),
  };
}
