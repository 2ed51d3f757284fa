// One way to read a command line for every CLI here (`certs`, `iotcore`, `start`, `sim`, `flash`,
// `bench`): node:util's parseArgs, the same option names for the same thing (--thing-name,
// --state, --json), --help on every command, and refusals that name the option and the fix.
//
// Exit codes: 0 done; 1 the run itself failed (a device that never reached telemetry, a build
// that failed); 2 the command line or an input it names must change (usage errors print the
// usage too).

import { parseArgs } from "node:util";

export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface OptionSpec {
  /** "flag" takes no value, "list" may be given several times; default "string". */
  kind?: "string" | "flag" | "list";
  /** The value's placeholder in the usage ("DIR", "N"); default "<value>". */
  value?: string;
  help: string;
}
export type OptionSpecs = Record<string, OptionSpec>;

export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  /** How the command is invoked, e.g. "npm run certs -- device". */
  name: string;
  summary: string;
  options: O;
  /** The positional arguments in the usage line ("<esp32/board> [name=value ...]"); none are accepted without it. */
  positionals?: string;
  /** Lines printed after the options. */
  notes?: string[];
}

type ValueOf<S extends OptionSpec> = S["kind"] extends "flag" ? boolean : S["kind"] extends "list" ? string[] : string;
export type Values<O extends OptionSpecs> = { [K in keyof O]?: ValueOf<O[K]> };

export type Parsed<O extends OptionSpecs> =
  | { help: true }
  | { help: false; values: Values<O>; positionals: string[] };

/** A failure the user fixes: the message names the cause, the file or value, and the fix. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT_USAGE) {
    super(message);
  }
}

/** A command line that does not fit the command's usage; reported with the usage. */
export class UsageError extends CliError {}

/** The command's usage and options, as `--help` prints them. */
export function usage(spec: CommandSpec): string {
  const lines = [`usage: ${spec.name}${spec.positionals ? ` ${spec.positionals}` : ""} [options]`, spec.summary, "", "options:"];
  const entries: [string, OptionSpec][] = [...Object.entries(spec.options), ["help", { kind: "flag", help: "print this help" }]];
  for (const [name, option] of entries) {
    const flag = `  --${name}${option.kind === "flag" ? "" : ` ${option.value ?? "<value>"}`}`;
    lines.push(`${flag.padEnd(32)} ${option.help}`);
  }
  if (spec.notes?.length) lines.push("", ...spec.notes);
  return lines.join("\n");
}

/**
 * Reads `argv` against `spec`. Returns { help: true } when --help (or -h) is anywhere on the
 * line. Throws UsageError for an unknown option, an option without its value (`--state` at the
 * end or followed by another option), a value given to a flag, or a positional argument the
 * command does not take.
 */
export function parseCommandLine<O extends OptionSpecs>(spec: CommandSpec<O>, argv: readonly string[]): Parsed<O> {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = option.kind === "flag" ? { type: "boolean" } : { type: "string", ...(option.kind === "list" ? { multiple: true } : {}) };
  }
  const { values, positionals, tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === "option" && (t.name === "help" || t.name === "h"))) return { help: true };
  const see = `see \`${spec.name} --help\``;
  for (const token of tokens) {
    if (token.kind === "positional" && !spec.positionals) {
      throw new UsageError(`unexpected argument '${token.value}': options start with -- (${see})`);
    }
    if (token.kind !== "option") continue;
    const option = Object.hasOwn(spec.options, token.name) ? spec.options[token.name] : undefined;
    if (!option) throw new UsageError(`unknown option ${token.rawName} (${see})`);
    if (option.kind === "flag") {
      if (token.inlineValue) throw new UsageError(`${token.rawName} takes no value, not '${token.value}'`);
    } else if (token.value === undefined || (!token.inlineValue && token.value.startsWith("-"))) {
      throw new UsageError(`${token.rawName} needs a value${option.value ? ` (${option.value})` : ""}`);
    }
  }
  return { help: false, values: values as Values<O>, positionals };
}

/**
 * parseCommandLine for a command's own entry point: prints the usage and returns undefined on
 * --help, the values and positional arguments otherwise. Throws UsageError.
 */
export function commandLine<O extends OptionSpecs>(spec: CommandSpec<O>, argv: readonly string[]): { values: Values<O>; positionals: string[] } | undefined {
  const parsed = parseCommandLine(spec, argv);
  if (!parsed.help) return parsed;
  console.log(usage(spec));
  return undefined;
}

/** `text` as a whole number in [min, max]; throws UsageError naming the option otherwise. */
export function wholeNumber(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${text}'`);
  }
  return n;
}

/** `text` if it is one of `allowed`; throws UsageError listing them otherwise. */
export function oneOf<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`--${name} ${text} is not one of ${allowed.join(", ")}`);
  return text as T;
}

/** The value of a required option; throws UsageError saying what it is for. */
export function required(value: string | undefined, name: string, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required: ${what}`);
  return value;
}

/**
 * The lines to print for a failure: a CliError's sentence (a UsageError's with the usage); for
 * anything else its message, never a stack trace, marked as unexpected.
 */
export function failureReport(program: string, error: unknown, spec?: CommandSpec): { text: string; exitCode: number } {
  if (error instanceof UsageError) return { text: `${program}: ${error.message}${spec ? `\n\n${usage(spec)}` : ""}`, exitCode: error.exitCode };
  if (error instanceof CliError) return { text: `${program}: ${error.message}`, exitCode: error.exitCode };
  const message = error instanceof Error ? error.message : String(error);
  return { text: `${program}: unexpected failure: ${message}`, exitCode: EXIT_FAILED };
}

/**
 * Runs a CLI's `main` and exits with its code; a thrown failure is reported by failureReport
 * on stderr. `spec` is the usage printed with a UsageError.
 */
export function runCli(program: string, main: () => Promise<number>, spec?: CommandSpec | (() => CommandSpec | undefined)): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const { text, exitCode } = failureReport(program, error, typeof spec === "function" ? spec() : spec);
      process.stderr.write(`${text}\n`);
      process.exit(exitCode);
    },
  );
}
