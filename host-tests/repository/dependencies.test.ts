// package.json declares what the code imports: every package imported anywhere is declared, the
// product (firmware, certs, the stand-in, the runtimes and CLIs) imports only `dependencies`, the
// packages the stand-in's web console serves to browsers are dependencies too, and @agoric/xsnap
// is pinned to the exact release whose layout and protocol the XS driver reads (docs/xs-engine.md).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { SERVED_PACKAGES } from "../../host/iotcore/console/server.js";

const ROOT = join(import.meta.dirname, "..", "..");
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs|js)$/.test(name) ? [path] : [];
  });
}

/** Bare package names imported by `file` (static imports, re-exports, dynamic imports). */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const names = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^"'`;]*?from\s+["']([^"'.][^"']*)["']|import\(\s*["']([^"'.][^"']*)["']\s*\)|(?:^|\n)\s*import\s+["']([^"'.][^"']*)["']/g)]
    .map((m) => m[1] ?? m[2] ?? m[3]!);
  return names
    .filter((name) => !name.startsWith("node:") && !builtinModules.includes(name) && !name.startsWith("/") && !BUNDLER_NAMES.test(name))
    .map((name) => (name.startsWith("@") ? name.split("/").slice(0, 2).join("/") : name.split("/")[0]!));
}

/** Moddable's modules, resolved by its manifests on the device, not by npm. */
const MODDABLE_MODULE_FOLDER = join("firmware", "platform", "moddable");
/** `npm run bench`, `fuzz` and `soak`: tools for developing the product, not part of it. */
const DEVELOPER_TOOLS = ["bench", "fuzz", "soak"];
/** Names esbuild resolves while bundling a guest (an alias for the SDK's mqtt module; virtual "namespace:" modules). */
const BUNDLER_NAMES = /^moddable-mqtt$|:/;

describe("package.json and the imports", () => {
  const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)]);

  it("declares every package the code and the tests import", () => {
    const missing: string[] = [];
    for (const folder of ["firmware", "host", "certs", "host-tests"]) {
      for (const file of sourceFiles(join(ROOT, folder))) {
        if (relative(ROOT, file).startsWith(MODDABLE_MODULE_FOLDER)) continue;
        for (const name of importedPackages(file)) if (!declared.has(name)) missing.push(`${relative(ROOT, file)}: ${name}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it("lets the product import only dependencies (the tests and the developer tools, bench, fuzz and soak, may use devDependencies)", () => {
    const devOnly: string[] = [];
    for (const folder of ["firmware", "host", "certs"]) {
      for (const file of sourceFiles(join(ROOT, folder))) {
        const path = relative(ROOT, file);
        if (path.startsWith(MODDABLE_MODULE_FOLDER) || DEVELOPER_TOOLS.some((tool) => path.startsWith(join("host", tool)))) continue;
        for (const name of importedPackages(file)) if (!(name in manifest.dependencies)) devOnly.push(`${path}: ${name}`);
      }
    }
    assert.deepEqual(devOnly, []);
  });

  it("lists the packages the stand-in's console serves to browsers among the dependencies", () => {
    assert.deepEqual(SERVED_PACKAGES.filter((name) => !(name in manifest.dependencies)), []);
  });

  it("pins @agoric/xsnap to the exact release the XS driver reads, and that release is installed", () => {
    const pinned = manifest.dependencies["@agoric/xsnap"];
    assert.match(pinned ?? "", /^\d+\.\d+\.\d+$/, "an exact version, no range");
    const installed = JSON.parse(readFileSync(join(ROOT, "node_modules", "@agoric", "xsnap", "package.json"), "utf8")) as { version: string };
    assert.equal(installed.version, pinned);
  });
});
