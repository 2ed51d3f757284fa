// The firmware as a Moddable manifest composes it, for the host's esbuild bundles (the XS
// runtime, `npm start`, the size budgets). A manifest maps module specifiers to files; the
// firmware imports by relative path, so a specifier is a path under firmware/ without its
// extension. The plugin below follows the manifest the way mcconfig does: an import of a
// specifier the manifest maps elsewhere (`connection/mode` -> one mode's module) goes there,
// and an import of a firmware module the manifest does not list fails the bundle, as it would
// fail on the device. The features the manifest names (keys of `config.features`, modules
// `features/<name>`) are served as the module `composition:features`, with the feature runtime
// (`startFeatures`, undefined in a build without features).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import type { boot } from "../../firmware/boot/boot.js";
import type { Feature, StartFeatures } from "../../firmware/features/feature.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const FIRMWARE = join(ROOT, "firmware");
/** The five-mode development build. */
export const DEVELOPMENT_MANIFEST = join(ROOT, "manifest.json");
export const FEATURES_MODULE = "composition:features";

/** The manifest that builds a device of `mode` (manifests/modes/<mode>.json). */
export function modeManifest(mode: string): string {
  return join(ROOT, "manifests", "modes", `${mode}.json`);
}

/** The manifest of a device of `mode` with fleet provisioning (manifests/fleet/<mode>.json). */
export function fleetManifest(mode: string): string {
  return join(ROOT, "manifests", "fleet", `${mode}.json`);
}

/** The manifest of a device of `mode` with the jobs feature (manifests/jobs/<mode>.json) or with jobs and OTA (manifests/ota/<mode>.json). */
export function jobsManifest(mode: string, withOta = false): string {
  return join(ROOT, "manifests", withOta ? "ota" : "jobs", `${mode}.json`);
}

export interface Composition {
  manifest: string;
  /** Specifier (e.g. "connection/mode", "mqtt/*") -> absolute path without extension (or with "*"). */
  modules: Map<string, string>;
  /** The merged `config` object. */
  config: Record<string, unknown>;
  /** The features the manifest names, in order. */
  features: string[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

function merge(target: Json, source: Json): void {
  for (const [name, value] of Object.entries(source)) {
    const current = target[name];
    if (isObject(current) && isObject(value)) merge(current, value);
    else target[name] = isObject(value) ? structuredClone(value) : value;
  }
}

/**
 * Reads `manifest` and the manifests it includes from this repository (the SDK's own, named
 * through `$(...)`, and the per-platform sections are left to mcconfig). Throws an Error naming
 * the file when one is missing or not JSON.
 */
export function readComposition(manifest: string): Composition {
  const modules = new Map<string, string>();
  const config: Json = {};
  const variables: Record<string, string> = {};
  const seen = new Set<string>();
  const read = (path: string) => {
    const file = resolve(path);
    if (seen.has(file)) return;
    seen.add(file);
    if (!existsSync(file)) throw new Error(`manifest ${relative(ROOT, file)} does not exist`);
    let json: Json;
    try {
      json = JSON.parse(readFileSync(file, "utf8")) as Json;
    } catch (e) {
      throw new Error(`manifest ${relative(ROOT, file)} is not JSON: ${(e as Error).message}`, { cause: e });
    }
    const dir = dirname(file);
    for (const [name, value] of Object.entries(isObject(json.build) ? json.build : {})) {
      if (typeof value === "string") variables[name] = value.startsWith(".") ? resolve(dir, value) : value;
    }
    const includes = typeof json.include === "string" ? [json.include] : Array.isArray(json.include) ? json.include : [];
    for (const include of includes) if (typeof include === "string" && !include.startsWith("$(")) read(resolve(dir, include));
    for (const [name, value] of Object.entries(isObject(json.modules) ? json.modules : {})) {
      if (typeof value !== "string") continue;
      const path = value.replace(/\$\(([A-Z_]+)\)/g, (whole, variable: string) => variables[variable] ?? whole);
      if (!path.includes("$(")) modules.set(name, resolve(dir, path));
    }
    if (isObject(json.config)) merge(config, json.config);
  };
  read(manifest);
  return { manifest: resolve(manifest), modules, config, features: Object.keys(isObject(config.features) ? config.features : {}) };
}

/** The file a specifier is built from under `composition`, without extension; undefined when not listed. */
export function moduleFile(composition: Composition, specifier: string): string | undefined {
  const exact = composition.modules.get(specifier);
  if (exact) return exact;
  const slash = specifier.lastIndexOf("/");
  const folder = composition.modules.get(specifier.slice(0, slash + 1) + "*");
  return folder && folder.slice(0, -1) + specifier.slice(slash + 1);
}

/** esbuild plugin: resolves firmware imports and `composition:features` as `composition` says. */
export function compositionPlugin(composition: Composition): Plugin {
  return {
    name: "moddable-composition",
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (!args.importer.startsWith(FIRMWARE + sep)) return undefined;
        const target = resolve(args.resolveDir, args.path).replace(/\.[jt]s$/, "");
        if (!target.startsWith(FIRMWARE + sep)) return undefined;
        const specifier = relative(FIRMWARE, target).split(sep).join("/");
        const file = moduleFile(composition, specifier);
        if (!file || !existsSync(file + ".ts")) {
          return { errors: [{ text: `${relative(ROOT, args.importer)} imports ${specifier}, which ${relative(ROOT, composition.manifest)} does not list: add it to the manifest's modules` }] };
        }
        return { path: file + ".ts" };
      });
      build.onResolve({ filter: new RegExp(`^${FEATURES_MODULE}$`) }, () => ({ path: FEATURES_MODULE, namespace: "composition" }));
      build.onLoad({ filter: /.*/, namespace: "composition" }, () => {
        const files = composition.features.map((name) => {
          const file = moduleFile(composition, `features/${name}`);
          if (!file) throw new Error(`${relative(ROOT, composition.manifest)} names feature ${name} in config.features but maps no module features/${name}`);
          return file + ".ts";
        });
        // The feature runtime comes with features only, as the feature manifests list it.
        const runtime = files.length ? moduleFile(composition, "features/runtime") : undefined;
        if (files.length && !runtime) throw new Error(`${relative(ROOT, composition.manifest)} names features but maps no module features/runtime`);
        return {
          contents: files.map((file, i) => `import f${i} from ${JSON.stringify(file)};\n`).join("") + `export const features = [${files.map((_, i) => "f" + i).join(", ")}];\n`
            + (runtime ? `export { startFeatures } from ${JSON.stringify(runtime + ".ts")};\n` : "export const startFeatures = undefined;\n"),
          resolveDir: FIRMWARE,
          loader: "ts",
        };
      });
    },
  };
}

/** What a composed firmware bundle exports. */
export interface ComposedFirmware {
  boot: typeof boot;
  features: readonly Feature[];
  /** The feature runtime, in a build with features. */
  startFeatures?: StartFeatures;
}

/**
 * Bundles the firmware `manifest` composes (boot with its mode(s), and its features) into one ES
 * module exporting `boot` and `features`; rejects with esbuild's errors (e.g. a module the
 * manifest does not list).
 */
export async function bundleComposition(manifest: string, options: { minify?: boolean } = {}): Promise<Uint8Array> {
  const composition = readComposition(manifest);
  // The feature runtime is exported only where there are features (a build without carries none).
  const exported = composition.features.length ? "features, startFeatures" : "features";
  const result = await build({
    stdin: { contents: `export { boot } from "./boot/boot.ts";\nexport { ${exported} } from "${FEATURES_MODULE}";\n`, resolveDir: FIRMWARE, sourcefile: join(FIRMWARE, "composition.ts"), loader: "ts" },
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    minify: options.minify ?? false,
    legalComments: "none",
    charset: "utf8",
    plugins: [compositionPlugin(composition)],
    logLevel: "silent",
  });
  return result.outputFiles[0]!.contents;
}

/** The minified size in bytes of the firmware `manifest` composes (the platform binding not counted). */
export async function compositionSize(manifest: string): Promise<number> {
  return (await bundleComposition(manifest, { minify: true })).length;
}

/** Loads the firmware `manifest` composes into this Node process (`npm start -- --engine node`). */
export async function loadComposition(manifest: string): Promise<ComposedFirmware> {
  const code = Buffer.from(await bundleComposition(manifest)).toString("base64");
  return await import(`data:text/javascript;base64,${code}`) as ComposedFirmware;
}
