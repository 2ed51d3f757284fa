// Bundles a guest entry (firmware + the XS bridge) into one IIFE script for xsnap's `evaluate`,
// which is a sloppy global eval: no modules, so entry points hang on globalThis.

import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { compositionPlugin, readComposition } from "../composition.js";

export interface BundleOptions {
  minify?: boolean;
  /** Module specifiers mapped to files (e.g. Moddable's "timer" to a stub, for the reference). */
  alias?: Record<string, string>;
  /** Compose the firmware as this Moddable manifest does (mode, features); see ../composition.ts. */
  manifest?: string;
}

const cache = new Map<string, Promise<string>>();

/** Returns the script for `entry` (a path or file: URL); rejects with esbuild's errors. */
export function bundleForXs(entry: string | URL, options: BundleOptions = {}): Promise<string> {
  const path = entry instanceof URL ? fileURLToPath(entry) : entry;
  const key = JSON.stringify([path, options]);
  let script = cache.get(key);
  if (!script) {
    script = bundle(path, options);
    script.catch(() => cache.delete(key));
    cache.set(key, script);
  }
  return script;
}

async function bundle(path: string, options: BundleOptions): Promise<string> {
  const result = await build({
    entryPoints: [path],
    bundle: true,
    write: false,
    format: "iife",
    platform: "neutral",
    target: "es2022",
    minify: options.minify ?? false,
    legalComments: "none",
    charset: "utf8",
    alias: options.alias,
    plugins: options.manifest ? [compositionPlugin(readComposition(options.manifest))] : [],
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

/**
 * Returns the minified size in bytes of a module and everything it imports, bundled as an ES
 * module (so its exports are kept); `external` names imports left out (a platform's modules).
 */
export async function minifiedModuleSize(entry: string | URL, external: string[] = []): Promise<number> {
  const result = await build({
    entryPoints: [entry instanceof URL ? fileURLToPath(entry) : entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    minify: true,
    legalComments: "none",
    charset: "utf8",
    external,
    logLevel: "silent",
  });
  return result.outputFiles[0].contents.length;
}

