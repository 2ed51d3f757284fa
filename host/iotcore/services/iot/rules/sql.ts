// The AWS IoT SQL the stand-in runs, pure (the clock and ids come in the context):
//   SELECT * | <expr> [AS name], ... FROM '<topic filter>' [WHERE <expr>]
// Expressions: JSON paths (`a.b.c`), string ('...' or "..."), number and boolean literals,
// comparison (= <> != < <= > >=), logical (AND OR NOT) and arithmetic (+ - * / %) operators,
// parentheses, and the functions topic([n]), clientid(), timestamp(), principal(), newuuid(),
// encode(value|*, 'base64'). What AWS's SQL has beyond that (other functions, CASE, nested
// SELECT, array indexes) is refused with a message saying the stand-in does not run it, so
// valid SQL is never reported as a parse error of the user's.

import { fail, ok, type Result } from "../../../../../firmware/platform/failure.js";
export { topicMatches } from "../../../topic-filter.js";

/** What an expression can see besides the payload. */
export interface SqlContext {
  topic: string;
  clientId?: string;
  principal?: string;
  /** epoch ms */
  now: number;
  newUuid(): string;
  /** the message as received (for encode(*, 'base64')) */
  payloadBytes: Uint8Array;
}

type Value = unknown;
type Expr = (payload: Value, context: SqlContext) => Value;

export interface CompiledSql {
  topicFilter: string;
  /** The rule's output for a message, or undefined when WHERE does not hold. */
  run(payload: Value, context: SqlContext): Record<string, Value> | undefined;
  /** Evaluates one expression (substitution templates: `${topic()}`). */
  expression(text: string): Result<Expr>;
}

const FUNCTIONS = new Set(["topic", "clientid", "timestamp", "principal", "newuuid", "encode"]);
const KEYWORDS = new Set(["select", "from", "where", "as", "and", "or", "not", "true", "false", "null"]);

interface Token { kind: "ident" | "number" | "string" | "op" | "end"; text: string; quote?: "'" | "\"" }

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(?:([A-Za-z_][\w]*)|(\d+(?:\.\d+)?)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(<>|!=|<=|>=|[=<>+\-*/%(),.[\]]))/y;
  let index = 0;
  while (index < sql.length) {
    if (/^\s*;?\s*$/.test(sql.slice(index))) break;
    pattern.lastIndex = index;
    const m = pattern.exec(sql);
    if (!m) throw new SqlError(`unexpected '${sql.slice(index).trim().slice(0, 20)}'`);
    index = pattern.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: "ident", text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: "number", text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: "string", text: m[3].replace(/\\(.)/g, "$1"), quote: "'" });
    else if (m[4] !== undefined) tokens.push({ kind: "string", text: m[4].replace(/\\(.)/g, "$1"), quote: "\"" });
    else tokens.push({ kind: "op", text: m[5]! });
  }
  tokens.push({ kind: "end", text: "" });
  return tokens;
}

class SqlError extends Error {}
/** SQL AWS accepts but the stand-in does not run. */
class Unsupported extends Error {}

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token { return this.tokens[this.at]!; }
  private next(): Token { return this.tokens[this.at++]!; }
  private keyword(word: string): boolean {
    const t = this.peek();
    if (t.kind === "ident" && t.text.toLowerCase() === word) { this.at++; return true; }
    return false;
  }
  private op(text: string): boolean {
    const t = this.peek();
    if (t.kind === "op" && t.text === text) { this.at++; return true; }
    return false;
  }
  private expect(word: string): void {
    if (!this.keyword(word) && !this.op(word)) throw new SqlError(`expected ${word.toUpperCase()} near '${this.peek().text}'`);
  }
  get done(): boolean { return this.peek().kind === "end"; }

  statement(): { items: { name?: string; expr?: Expr; star?: true }[]; topicFilter: string; where?: Expr } {
    this.expect("select");
    const items: { name?: string; expr?: Expr; star?: true }[] = [];
    do {
      if (this.op("*")) { items.push({ star: true }); continue; }
      const start = this.at;
      const expr = this.expr();
      const name = this.keyword("as") ? this.identifier() : this.defaultName(start);
      items.push({ expr, name });
    } while (this.op(","));
    this.expect("from");
    const from = this.next();
    if (from.kind !== "string") throw new SqlError("FROM takes a topic filter in single quotes, e.g. FROM 'sensors/+/temperature'");
    const where = this.keyword("where") ? this.expr() : undefined;
    if (!this.done) throw new Unsupported(`'${this.peek().text}' after the WHERE clause`);
    return { items, topicFilter: from.text, ...(where ? { where } : {}) };
  }

  private identifier(): string {
    const t = this.next();
    if (t.kind !== "ident" && t.kind !== "string") throw new SqlError(`expected a name near '${t.text}'`);
    return t.text;
  }

  /** AWS names an unaliased path by its last part and a function call by the function. */
  private defaultName(start: number): string | undefined {
    const used = this.tokens.slice(start, this.at);
    const last = [...used].reverse().find((t) => t.kind === "ident");
    if (used[1]?.kind === "op" && used[1].text === "(") return used[0]!.text;
    return last?.text;
  }

  expr(): Expr { return this.or(); }

  private or(): Expr {
    let left = this.and();
    while (this.keyword("or")) { const l = left, r = this.and(); left = (p, c) => truthy(l(p, c)) || truthy(r(p, c)); }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.keyword("and")) { const l = left, r = this.not(); left = (p, c) => truthy(l(p, c)) && truthy(r(p, c)); }
    return left;
  }

  private not(): Expr {
    if (this.keyword("not")) { const inner = this.not(); return (p, c) => !truthy(inner(p, c)); }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const t = this.peek();
    if (t.kind !== "op" || !["=", "<>", "!=", "<", "<=", ">", ">="].includes(t.text)) return left;
    this.at++;
    const right = this.additive();
    return (p, c) => compare(t.text, left(p, c), right(p, c));
  }

  private additive(): Expr {
    let left = this.multiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || (t.text !== "+" && t.text !== "-")) return left;
      this.at++;
      const l = left, r = this.multiplicative();
      left = (p, c) => arithmetic(t.text, l(p, c), r(p, c));
    }
  }

  private multiplicative(): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "op" || !["*", "/", "%"].includes(t.text)) return left;
      this.at++;
      const l = left, r = this.unary();
      left = (p, c) => arithmetic(t.text, l(p, c), r(p, c));
    }
  }

  private unary(): Expr {
    if (this.op("-")) { const inner = this.unary(); return (p, c) => arithmetic("-", 0, inner(p, c)); }
    return this.primary();
  }

  private primary(): Expr {
    const t = this.next();
    if (t.kind === "number") { const n = Number(t.text); return () => n; }
    if (t.kind === "string") { const s = t.text; return () => s; }
    if (t.kind === "op" && t.text === "(") { const inner = this.expr(); this.expect(")"); return inner; }
    if (t.kind !== "ident") throw new SqlError(`unexpected '${t.text}'`);
    const word = t.text.toLowerCase();
    if (word === "true") return () => true;
    if (word === "false") return () => false;
    if (word === "null") return () => null;
    if (KEYWORDS.has(word)) throw new SqlError(`unexpected ${t.text.toUpperCase()}`);
    if (this.op("(")) return this.call(t.text);
    const path = [t.text];
    while (this.op(".")) path.push(this.identifier());
    if (this.peek().kind === "op" && this.peek().text === "[") throw new Unsupported("array indexes");
    return (p) => valueAt(p, path);
  }

  private call(name: string): Expr {
    const fn = name.toLowerCase();
    if (!FUNCTIONS.has(fn)) throw new Unsupported(`the function ${name}()`);
    const args: (Expr | "*")[] = [];
    if (!this.op(")")) {
      do args.push(this.op("*") ? "*" : this.expr()); while (this.op(","));
      this.expect(")");
    }
    const arg = (i: number, p: Value, c: SqlContext) => { const a = args[i]; return a === undefined || a === "*" ? undefined : a(p, c); };
    switch (fn) {
      case "topic": return (p, c) => {
        const n = arg(0, p, c);
        return n === undefined ? c.topic : c.topic.split("/")[Number(n) - 1];
      };
      case "clientid": return (_p, c) => c.clientId;
      case "principal": return (_p, c) => c.principal;
      case "timestamp": return (_p, c) => c.now;
      case "newuuid": return (_p, c) => c.newUuid();
      default: return (p, c) => {
        if (String(arg(1, p, c)) !== "base64") throw new Unsupported("encode() other than 'base64'");
        const bytes = args[0] === "*" ? Buffer.from(c.payloadBytes) : Buffer.from(typeof arg(0, p, c) === "string" ? String(arg(0, p, c)) : JSON.stringify(arg(0, p, c)));
        return bytes.toString("base64");
      };
    }
  }
}

/** Compiles a rule's SQL; failures: "sql-parse" (not SQL AWS accepts) or "sql-unsupported" (AWS's, not run here). */
export function compileSql(sql: string): Result<CompiledSql> {
  let statement: ReturnType<Parser["statement"]>;
  try {
    statement = new Parser(tokenize(sql)).statement();
  } catch (error) {
    if (error instanceof Unsupported) return fail("sql-unsupported", `this stand-in does not run ${error.message} (it runs SELECT lists, paths, AS, WHERE with comparison, logical and arithmetic operators, and topic(), clientid(), timestamp(), principal(), newuuid(), encode())`);
    return fail("sql-parse", `${(error as Error).message} in '${sql.trim()}'`);
  }
  const { items, topicFilter, where } = statement;
  return ok({
    topicFilter,
    run(payload, context) {
      if (where && !truthy(where(payload, context))) return undefined;
      const out: Record<string, Value> = {};
      for (const item of items) {
        if (item.star) {
          if (typeof payload === "object" && payload !== null && !Array.isArray(payload)) Object.assign(out, payload);
          continue;
        }
        const value = item.expr!(payload, context);
        if (value !== undefined) out[item.name ?? "value"] = value;
      }
      return out;
    },
    expression(text) {
      try {
        const parser = new Parser(tokenize(text));
        const expr = parser.expr();
        if (!parser.done) return fail("sql-parse", `unexpected text after '${text}'`);
        return ok(expr);
      } catch (error) {
        return fail(error instanceof Unsupported ? "sql-unsupported" : "sql-parse", `${(error as Error).message} in \${${text}}`);
      }
    },
  });
}

/** Replaces each `${expression}` of a substitution template (republish topics, ...). */
export function substitute(template: string, sql: CompiledSql, payload: Value, context: SqlContext): Result<string> {
  let failure: Result<string> | undefined;
  const text = template.replace(/\$\{([^}]*)\}/g, (_whole, inner: string) => {
    const expr = sql.expression(inner);
    if (!expr.ok) { failure ??= expr; return ""; }
    const value = expr.value(payload, context);
    return value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  });
  return failure ?? ok(text);
}

function truthy(value: Value): boolean {
  return value === true || (typeof value === "number" && value !== 0) || (typeof value === "string" && value.length > 0 && value !== "false");
}

function compare(op: string, a: Value, b: Value): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;   // AWS: a missing field compares as Undefined, which is not true
  switch (op) {
    case "=": return JSON.stringify(a) === JSON.stringify(b);
    case "<>": case "!=": return JSON.stringify(a) !== JSON.stringify(b);
  }
  if (typeof a !== typeof b || (typeof a !== "number" && typeof a !== "string")) return undefined;
  const x = a as number | string, y = b as number | string;
  return op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y;
}

function arithmetic(op: string, a: Value, b: Value): Value {
  if (op === "+" && typeof a === "string" && typeof b === "string") return a + b;
  if (typeof a !== "number" || typeof b !== "number") return undefined;
  switch (op) {
    case "+": return a + b;
    case "-": return a - b;
    case "*": return a * b;
    case "/": return b === 0 ? undefined : a / b;
    default: return b === 0 ? undefined : a % b;
  }
}

function valueAt(payload: Value, path: readonly string[]): Value {
  let value = payload;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, Value>)[key];
  }
  return value;
}
