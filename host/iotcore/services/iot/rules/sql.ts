// The subset of the AWS IoT SQL the stand-in runs, pure:
//   SELECT * FROM '<topic filter>' [WHERE <field> = <literal> [AND <field> = <literal>]...]
// `<field>` is a dotted path into the JSON payload; `<literal>` is a "string", a 'string', a
// number, true or false; `<>` and `!=` negate.

import { fail, ok, type Result } from "../../../../../firmware/platform/failure.js";
export { topicMatches } from "../../../topic-filter.js";

type Literal = string | number | boolean;
export interface Condition { path: string[]; equal: boolean; value: Literal }
export interface ParsedSql { topicFilter: string; conditions: Condition[] }

const STATEMENT = /^\s*SELECT\s+\*\s+FROM\s+'([^']+)'\s*(?:WHERE\s+([\s\S]+?))?\s*;?\s*$/i;
const CONDITION = /^\s*([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*(=|<>|!=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|true|false)\s*$/i;

/** Returns the parsed statement, or a Failure "sql-parse" naming what is not supported. */
export function parseSql(sql: string): Result<ParsedSql> {
  const statement = STATEMENT.exec(sql);
  if (!statement) return fail("sql-parse", `unsupported SQL '${sql}': use SELECT * FROM '<topic filter>' [WHERE field = "value"]`);
  const topicFilter = statement[1]!;
  const conditions: Condition[] = [];
  for (const text of statement[2] ? statement[2].split(/\s+AND\s+/i) : []) {
    const m = CONDITION.exec(text);
    if (!m) return fail("sql-parse", `unsupported condition '${text.trim()}': use field = "value", joined by AND`);
    conditions.push({ path: m[1]!.split("."), equal: m[2] === "=", value: literal(m[3]!) });
  }
  return ok({ topicFilter, conditions });
}

/** True when the JSON payload satisfies every condition. */
export function matchesConditions(conditions: readonly Condition[], payload: unknown): boolean {
  return conditions.every((c) => (valueAt(payload, c.path) === c.value) === c.equal);
}

function literal(text: string): Literal {
  if (text.startsWith('"') || text.startsWith("'")) return text.slice(1, -1).replace(/\\(.)/g, "$1");
  if (/^(true|false)$/i.test(text)) return text.toLowerCase() === "true";
  return Number(text);
}

function valueAt(payload: unknown, path: readonly string[]): unknown {
  let value = payload;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
