// Checks an authorizer function's answer against the limits AWS IoT Core enforces before the
// answer's policies may govern a connection. Pure.

import { fail, ok, type Result } from "../../../firmware/platform/failure.js";

export interface AuthorizerDecision {
  principalId: string;
  /** Each policy as JSON text, exactly as evaluated. */
  policyDocuments: string[];
  disconnectAfterSeconds: number;
  refreshAfterSeconds: number;
}

const PRINCIPAL_ID = /^[a-zA-Z0-9]{1,128}$/;
const MAX_POLICIES = 10;
const MAX_POLICY_CHARS = 2048;
const MIN_SECONDS = 300;
const MAX_SECONDS = 86400;

/**
 * Returns the decision of an authenticated answer, or a Failure: "authorizer-denied" when
 * isAuthenticated is not true, "authorizer-invalid-response" naming the offending field.
 */
export function validateAuthorizerResponse(answer: unknown): Result<AuthorizerDecision> {
  if (typeof answer !== "object" || answer === null) return invalid("the answer is not an object");
  const a = answer as Record<string, unknown>;
  if (typeof a.isAuthenticated !== "boolean") return invalid("isAuthenticated must be a boolean");
  if (!a.isAuthenticated) return fail("authorizer-denied", "the authorizer function answered isAuthenticated: false");
  if (typeof a.principalId !== "string" || !PRINCIPAL_ID.test(a.principalId)) {
    return invalid("principalId must be 1-128 alphanumeric characters");
  }
  const policies = policyTexts(a.policyDocuments);
  if (!policies.ok) return policies;
  const disconnect = seconds(a.disconnectAfterInSeconds, "disconnectAfterInSeconds");
  if (!disconnect.ok) return disconnect;
  const refresh = seconds(a.refreshAfterInSeconds, "refreshAfterInSeconds");
  if (!refresh.ok) return refresh;
  return ok({
    principalId: a.principalId, policyDocuments: policies.value,
    disconnectAfterSeconds: disconnect.value, refreshAfterSeconds: refresh.value,
  });
}

/** Policies may come as JSON strings or as objects (the WebSocket custom-auth walkthrough's function returns objects). */
function policyTexts(value: unknown): Result<string[]> {
  if (!Array.isArray(value)) return invalid("policyDocuments must be a list");
  if (value.length > MAX_POLICIES) return invalid(`policyDocuments has ${value.length} entries, at most ${MAX_POLICIES} are allowed`);
  const texts: string[] = [];
  for (const [i, doc] of value.entries()) {
    const text = typeof doc === "string" ? doc : JSON.stringify(doc);
    if (typeof text !== "string" || text.length > MAX_POLICY_CHARS) {
      return invalid(`policyDocuments[${i}] must be a policy of at most ${MAX_POLICY_CHARS} characters`);
    }
    try {
      const parsed = JSON.parse(text) as { Statement?: unknown };
      if (typeof parsed !== "object" || parsed === null || parsed.Statement === undefined) throw new Error("no Statement");
    } catch {
      return invalid(`policyDocuments[${i}] is not a JSON policy with a Statement`);
    }
    texts.push(text);
  }
  return ok(texts);
}

function seconds(value: unknown, field: string): Result<number> {
  if (value === undefined) return ok(MAX_SECONDS);
  if (typeof value !== "number" || !Number.isInteger(value) || value < MIN_SECONDS || value > MAX_SECONDS) {
    return invalid(`${field} must be an integer from ${MIN_SECONDS} to ${MAX_SECONDS}`);
  }
  return ok(value);
}

function invalid<T>(why: string): Result<T> {
  return fail("authorizer-invalid-response", `authorizer function answer refused: ${why}`);
}
