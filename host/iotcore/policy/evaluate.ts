// IoT policy evaluation, pure: explicit Deny wins, then any Allow, else the default deny.
// Resources are ARNs matched with `*` (any run, `/` included) and `?` (one character) after
// policy variables are substituted; a statement whose variable is unknown matches nothing.

export type Decision = "allow" | "explicit-deny" | "default-deny";

export interface Evaluation {
  decision: Decision;
  /** which statement decided, for the log: "policy <name or index> statement <index>" */
  by?: string;
}

interface Statement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: unknown;
}

/** Values of `${...}` policy variables, keyed by their full name (`iot:ClientId`). */
export type PolicyVariables = Record<string, string | undefined>;

/**
 * Evaluates documents (JSON strings or parsed) for one action on one resource ARN.
 * Malformed documents or statements count as matching nothing.
 */
export function evaluatePolicies(
  documents: readonly (string | object)[], action: string, resource: string, variables: PolicyVariables,
  /** the documents' policy names, so `by` says "policy <name> statement <index>" */
  names?: readonly string[],
): Evaluation {
  let allowedBy: string | undefined;
  for (const [p, document] of documents.entries()) {
    for (const [s, statement] of statementsOf(document).entries()) {
      if (!statementMatches(statement, action, resource, variables)) continue;
      const by = `policy ${names?.[p] ?? p} statement ${s}`;
      if (statement.Effect === "Deny") return { decision: "explicit-deny", by };
      if (statement.Effect === "Allow") allowedBy ??= by;
    }
  }
  return allowedBy ? { decision: "allow", by: allowedBy } : { decision: "default-deny" };
}

/** IoT policies attached to an authenticated Cognito identity, read when an action is decided. */
export type AttachedPolicies = () => { documents: readonly string[]; names: readonly string[] };

/**
 * Evaluates a principal's policies and, for an authenticated Cognito identity (`attached` given),
 * the IoT policies attached to its identity id too: AWS IoT allows the action only when both
 * allow it. `identityId` names the identity in the explanation of a missing attached policy.
 */
export function evaluateWithAttached(
  documents: readonly (string | object)[], names: readonly string[] | undefined, attached: AttachedPolicies | undefined,
  identityId: string, action: string, resource: string, variables: PolicyVariables,
): Evaluation {
  const first = evaluatePolicies(documents, action, resource, variables, names);
  if (first.decision !== "allow" || !attached) return first;
  const policies = attached();
  const second = evaluatePolicies(policies.documents, action, resource, variables, policies.names);
  if (second.decision === "allow") return { decision: "allow", by: `IAM ${first.by} and IoT ${second.by}` };
  return second.by ? second : {
    decision: second.decision,
    by: `no IoT policy attached to identity ${identityId} allows it (an authenticated Cognito identity needs one besides its role's IAM policy: aws iot attach-policy --target ${identityId})`,
  };
}

function statementsOf(document: string | object): Statement[] {
  let parsed: unknown = document;
  if (typeof document === "string") {
    try {
      parsed = JSON.parse(document);
    } catch {
      return [];
    }
  }
  const statements = (parsed as { Statement?: unknown } | null)?.Statement;
  if (Array.isArray(statements)) return statements.filter((s): s is Statement => typeof s === "object" && s !== null);
  return typeof statements === "object" && statements !== null ? [statements as Statement] : [];
}

function statementMatches(statement: Statement, action: string, resource: string, variables: PolicyVariables): boolean {
  // Conditions are not evaluated by this stand-in: a conditional statement matches nothing,
  // so it can only make decisions stricter than AWS, never looser.
  if (statement.Condition !== undefined) return false;
  const actions = asList(statement.Action);
  if (!actions.some((pattern) => wildcardMatch(pattern.toLowerCase(), action.toLowerCase()))) return false;
  return asList(statement.Resource).some((pattern) => {
    const substituted = substituteVariables(pattern, variables);
    return substituted !== undefined && wildcardMatch(substituted, resource);
  });
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === "string");
}

/** Returns the pattern with `${name}` replaced, or undefined when a variable has no value. */
export function substituteVariables(pattern: string, variables: PolicyVariables): string | undefined {
  let missing = false;
  const result = pattern.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    const value = variables[name];
    if (value === undefined) missing = true;
    return value ?? "";
  });
  return missing ? undefined : result;
}

/** `*` matches any run of characters, `?` exactly one; everything else literally. */
export function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0, t = 0, star = -1, resume = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === text[t])) {
      p++; t++;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p++; resume = t;
    } else if (star >= 0) {
      p = star + 1; t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}
