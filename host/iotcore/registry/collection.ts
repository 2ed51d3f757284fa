// One named collection of records kept as a JSON file in the state directory. Writes go to a
// temporary file and are renamed into place, so a crash never leaves half a file behind.
// Records are kept in a Map: ids come from requests (a thing named `__proto__` or `constructor`
// is an ordinary record, never a property of a plain object).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { StateFileError } from "../startup-failure.js";
import { join } from "node:path";

export class Collection<T> {
  private readonly file: string;
  private readonly records: Map<string, T>;

  constructor(dir: string, readonly name: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${name}.json`);
    this.records = readRecords<T>(this.file);
  }

  get(id: string): T | undefined {
    return this.records.get(id);
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  list(): T[] {
    return [...this.records.values()];
  }

  put(id: string, record: T): T {
    this.records.set(id, record);
    this.save();
    return record;
  }

  delete(id: string): boolean {
    if (!this.has(id)) return false;
    this.records.delete(id);
    this.save();
    return true;
  }

  private save(): void {
    const temporary = `${this.file}.${process.pid}.tmp`;
    // Object.fromEntries defines own properties, so `__proto__` is written as a key like any other.
    writeFileSync(temporary, JSON.stringify(Object.fromEntries(this.records), null, 2));
    renameSync(temporary, this.file);
  }
}

/** Returns the stored records; an absent file is an empty collection, a corrupt one throws StateFileError. */
function readRecords<T>(file: string): Map<string, T> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw error;
  }
  try {
    // JSON.parse makes every key an own property (`__proto__` included); entries reads them all.
    return new Map(Object.entries(JSON.parse(text) as Record<string, T>));
  } catch (error) {
    throw new StateFileError(`registry file ${file} is not valid JSON (${(error as Error).message}): fix or delete it`, { cause: error });
  }
}
