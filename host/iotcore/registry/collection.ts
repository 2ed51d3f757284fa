// One named collection of records kept as a JSON file in the state directory. Writes go to a
// temporary file and are renamed into place, so a crash never leaves half a file behind.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { StateFileError } from "../startup-failure.js";
import { join } from "node:path";

export class Collection<T> {
  private readonly file: string;
  private records: Record<string, T>;

  constructor(dir: string, readonly name: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, `${name}.json`);
    this.records = readRecords<T>(this.file);
  }

  get(id: string): T | undefined {
    return Object.hasOwn(this.records, id) ? this.records[id] : undefined;
  }

  has(id: string): boolean {
    return Object.hasOwn(this.records, id);
  }

  list(): T[] {
    return Object.values(this.records);
  }

  put(id: string, record: T): T {
    this.records[id] = record;
    this.save();
    return record;
  }

  delete(id: string): boolean {
    if (!this.has(id)) return false;
    delete this.records[id];
    this.save();
    return true;
  }

  private save(): void {
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.records, null, 2));
    renameSync(temporary, this.file);
  }
}

/** Returns the stored records; an absent file is an empty collection, a corrupt one throws StateFileError. */
function readRecords<T>(file: string): Record<string, T> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  try {
    return JSON.parse(text) as Record<string, T>;
  } catch (error) {
    throw new StateFileError(`registry file ${file} is not valid JSON (${(error as Error).message}): fix or delete it`, { cause: error });
  }
}
