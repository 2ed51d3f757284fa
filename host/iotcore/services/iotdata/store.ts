// Shadows kept in the state directory, one JSON file per thing (`<stateDir>/shadows/<thing>.json`,
// classic shadow under "", named shadows under their names), so they survive a restart and
// go with their thing in one step. Writes for one thing are serialized and each goes to a
// temporary file renamed into place, so a crash never leaves half a file behind.
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ShadowRecord } from "./document.js";

type ThingShadows = Record<string, ShadowRecord>;

/** The classic (unnamed) shadow's key. Named shadows' names are never empty. */
export const CLASSIC = "";

export class ShadowStore {
  private readonly dir: string;
  private readonly things = new Map<string, ThingShadows>();
  private readonly writes = new Map<string, Promise<void>>();

  /** Loads every stored thing; a corrupt file throws naming the file and the fix. */
  constructor(stateDir: string) {
    this.dir = join(stateDir, "shadows");
    mkdirSync(this.dir, { recursive: true });
    for (const file of readdirSync(this.dir)) {
      if (!file.endsWith(".json")) continue;
      const path = join(this.dir, file);
      try {
        this.things.set(decodeURIComponent(file.slice(0, -5)), JSON.parse(readFileSync(path, "utf8")) as ThingShadows);
      } catch (error) {
        throw new Error(`shadow file ${path} is not valid JSON (${(error as Error).message}): fix or delete it`, { cause: error });
      }
    }
  }

  get(thing: string, shadow: string): ShadowRecord | undefined {
    const shadows = this.things.get(thing);
    return shadows && Object.hasOwn(shadows, shadow) ? shadows[shadow] : undefined;
  }

  /** Names of the thing's named shadows that exist (not deleted), sorted. */
  namedShadows(thing: string): string[] {
    const shadows = this.things.get(thing) ?? {};
    return Object.keys(shadows).filter((name) => name !== CLASSIC && shadows[name].deletedAt === undefined).sort();
  }

  /** Stores a record; resolves once it is on disk. */
  put(thing: string, shadow: string, record: ShadowRecord): Promise<void> {
    const shadows = { ...this.things.get(thing), [shadow]: record };
    this.things.set(thing, shadows);
    return this.enqueue(thing, async () => {
      const latest = this.things.get(thing);
      if (!latest) return; // the thing was deleted meanwhile
      const file = this.fileOf(thing);
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(latest));
      await rename(temporary, file);
    });
  }

  /** Forgets every shadow of a thing (DeleteThing); resolves once the file is gone. */
  deleteThing(thing: string): Promise<void> {
    this.things.delete(thing);
    return this.enqueue(thing, () => rm(this.fileOf(thing), { force: true }));
  }

  /** Resolves when every write started so far is done. */
  async idle(): Promise<void> {
    await Promise.all([...this.writes.values()]);
  }

  private fileOf(thing: string): string {
    return join(this.dir, `${encodeURIComponent(thing)}.json`);
  }

  private enqueue(thing: string, work: () => Promise<unknown>): Promise<void> {
    const next = (this.writes.get(thing) ?? Promise.resolve()).then(work).then(() => undefined);
    const settled = next.catch(() => undefined);
    this.writes.set(thing, settled);
    void settled.then(() => {
      if (this.writes.get(thing) === settled) this.writes.delete(thing);
    });
    return next;
  }
}
