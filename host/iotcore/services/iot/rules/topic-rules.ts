// Topic rules: persisted records, their control-plane operations, and running them on every
// published message: the SQL (sql.ts) selects and filters, then the actions run: `lambda` (a
// local function gets the selected document), `republish` (to a topic with substitution
// templates, at the action's QoS); when an action fails, the rule's errorAction runs with AWS's
// error document. Other actions are refused when the rule is made, never stored and not run.
import { randomUUID } from "node:crypto";

import type { Collection } from "../../../registry/collection.js";
import { AwsError } from "../../../registry/errors.js";
import type { LocalFunctions } from "../../lambda/local-functions.js";
import { compileSql, substitute, topicMatches, type CompiledSql, type SqlContext } from "./sql.js";
import type { OperationInput } from "../../../control/server.js";

export interface TopicRuleAction { lambda?: { functionArn: string }; republish?: { topic: string; qos?: number; roleArn?: string }; [other: string]: unknown }

export interface TopicRuleRecord {
  ruleName: string;
  ruleArn: string;
  sql: string;
  description?: string;
  actions: TopicRuleAction[];
  errorAction?: TopicRuleAction;
  ruleDisabled: boolean;
  awsIotSqlVersion?: string;
  createdAt: number;   // epoch seconds
}

export interface TopicRulesHost {
  records: Collection<TopicRuleRecord>;
  arn(resource: string): string;
  functions: LocalFunctions;
  /** Publishes as the rules engine does (republish actions). */
  publish(topic: string, payload: string, qos: 0 | 1): Promise<void>;
  nowMs(): number;
  log(line: string): void;
}

export class TopicRules {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly host: TopicRulesHost) {}

  /**
   * Feeds one published message (device publishes and the stand-in's own `$aws/events/...`)
   * to every enabled rule; the matching rules' function actions start and run on their own.
   */
  onMessage(message: { topic: string; payload: Uint8Array; clientId?: string; principal?: { id: string } }): void {
    const { topic, payload } = message;
    for (const rule of this.host.records.list()) {
      if (rule.ruleDisabled) continue;
      const compiled = compileSql(rule.sql);
      if (!compiled.ok || !topicMatches(compiled.value.topicFilter, topic)) continue;
      let event: unknown;
      try {
        event = JSON.parse(Buffer.from(payload).toString("utf8"));
      } catch {
        // AWS: a payload that is not JSON reaches SELECT * as is only through encode(*); fields are undefined.
        event = {};
      }
      const context: SqlContext = {
        topic, now: this.host.nowMs(), newUuid: () => randomUUID(), payloadBytes: payload,
        ...(message.clientId !== undefined ? { clientId: message.clientId } : {}),
        ...(message.principal ? { principal: message.principal.id } : {}),
      };
      let output: Record<string, unknown> | undefined;
      try {
        output = compiled.value.run(event, context);
      } catch (error) {
        this.host.log(`rule ${rule.ruleName}: ${topic}: ${(error as Error).message}`);
        continue;
      }
      if (!output) continue;
      for (const action of rule.actions) this.runAction(rule, compiled.value, action, output, event, context);
    }
  }

  /** Resolves when every action started so far has finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Control-plane operations keyed by the IoT model's operation names; raise AwsError. */
  operations(): Record<string, (input: OperationInput) => Promise<unknown>> {
    return {
      CreateTopicRule: async ({ ruleName, topicRulePayload }) => {
        if (this.host.records.has(String(ruleName))) throw new AwsError("ResourceAlreadyExistsException", `rule ${ruleName} already exists`);
        this.put(String(ruleName), topicRulePayload, Math.floor(this.host.nowMs() / 1000));
        return {};
      },
      ReplaceTopicRule: async ({ ruleName, topicRulePayload }) => {
        this.put(this.require(ruleName).ruleName, topicRulePayload, this.require(ruleName).createdAt);
        return {};
      },
      GetTopicRule: async ({ ruleName }) => {
        const { ruleArn, ...rule } = this.require(ruleName);
        return { ruleArn, rule };
      },
      ListTopicRules: async ({ topic, ruleDisabled }) => ({
        rules: this.host.records.list()
          .filter((r) => (ruleDisabled === undefined || r.ruleDisabled === ruleDisabled) && (!topic || topicFilterOf(r) === topic))
          .map((r) => ({ ruleArn: r.ruleArn, ruleName: r.ruleName, topicPattern: topicFilterOf(r), createdAt: r.createdAt, ruleDisabled: r.ruleDisabled })),
      }),
      DeleteTopicRule: async ({ ruleName }) => {
        this.host.records.delete(this.require(ruleName).ruleName);
        return {};
      },
      EnableTopicRule: async ({ ruleName }) => this.setDisabled(ruleName, false),
      DisableTopicRule: async ({ ruleName }) => this.setDisabled(ruleName, true),
    };
  }

  private put(ruleName: string, payload: OperationInput, createdAt: number): void {
    if (!/^[a-zA-Z0-9_]{1,128}$/.test(ruleName)) throw new AwsError("InvalidRequestException", `ruleName '${ruleName}' must be 1-128 of [a-zA-Z0-9_]`);
    const sql = String(payload?.sql ?? "");
    const compiled = compileSql(sql);
    if (!compiled.ok) {
      // Valid SQL the stand-in does not run is not the user's parse error.
      throw new AwsError(compiled.failure.code === "sql-unsupported" ? "InvalidRequestException" : "SqlParseException", compiled.failure.message);
    }
    const actions: TopicRuleAction[] = Array.isArray(payload.actions) ? payload.actions : [];
    const errorAction: TopicRuleAction | undefined = payload.errorAction ?? undefined;
    for (const action of [...actions, ...(errorAction ? [errorAction] : [])]) checkAction(action, compiled.value);
    const record: TopicRuleRecord = {
      ruleName, ruleArn: this.host.arn(`rule/${ruleName}`), sql, actions, ...(errorAction ? { errorAction } : {}),
      ruleDisabled: payload.ruleDisabled === true, createdAt,
      ...(payload.description !== undefined ? { description: String(payload.description) } : {}),
      ...(payload.awsIotSqlVersion !== undefined ? { awsIotSqlVersion: String(payload.awsIotSqlVersion) } : {}),
    };
    this.host.records.put(ruleName, record);
    this.host.log(`rule ${ruleName}: ${sql.replace(/\s+/g, " ").trim()} -> ${actions.map(describeAction).join(", ") || "no actions"}`);
  }

  private runAction(rule: TopicRuleRecord, sql: CompiledSql, action: TopicRuleAction, output: Record<string, unknown>, event: unknown, context: SqlContext): void {
    const run = this.perform(rule, sql, action, output, event, context).then(async (failure) => {
      if (!failure) return;
      this.host.log(`rule ${rule.ruleName}: action ${describeAction(action)} failed: ${failure}`);
      if (!rule.errorAction) return;
      // AWS's error action document.
      const error = {
        ruleName: rule.ruleName, topic: context.topic, clientId: context.clientId ?? "", base64OriginalPayload: Buffer.from(context.payloadBytes).toString("base64"),
        failures: [{ failedAction: Object.keys(action)[0], failedResource: describeAction(action), errorMessage: failure }],
      };
      const second = await this.perform(rule, sql, rule.errorAction, error, event, context);
      if (second) this.host.log(`rule ${rule.ruleName}: error action ${describeAction(rule.errorAction)} failed too: ${second}`);
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Runs one action; resolves with a failure message, or undefined when it succeeded. */
  private async perform(rule: TopicRuleRecord, sql: CompiledSql, action: TopicRuleAction, output: Record<string, unknown>, event: unknown, context: SqlContext): Promise<string | undefined> {
    if (action.lambda?.functionArn) {
      const arn = action.lambda.functionArn;
      this.host.log(`rule ${rule.ruleName}: ${context.topic} -> ${arn}`);
      const result = await this.host.functions.invoke(arn, output);
      this.host.log(`rule ${rule.ruleName}: ${arn} ${result.ok ? "succeeded" : `failed: ${result.failure.message}`}`);
      return result.ok ? undefined : result.failure.message;
    }
    const republish = action.republish!;
    const topic = substitute(republish.topic, sql, event, context);
    if (!topic.ok) return topic.failure.message;
    const qos = republish.qos === 1 ? 1 : 0;
    try {
      await this.host.publish(topic.value, JSON.stringify(output), qos);
    } catch (error) {
      return (error as Error).message;
    }
    this.host.log(`rule ${rule.ruleName}: ${context.topic} -> republished to ${topic.value} (QoS ${qos})`);
    return undefined;
  }

  private setDisabled(ruleName: unknown, ruleDisabled: boolean) {
    const rule = this.require(ruleName);
    this.host.records.put(rule.ruleName, { ...rule, ruleDisabled });
    return {};
  }

  private require(name: unknown): TopicRuleRecord {
    const record = this.host.records.get(String(name));
    // AWS answers an unknown rule name with UnauthorizedException, not ResourceNotFound.
    if (!record) throw new AwsError("UnauthorizedException", `rule ${String(name)} does not exist`);
    return record;
  }
}

function topicFilterOf(rule: TopicRuleRecord): string {
  const compiled = compileSql(rule.sql);
  return compiled.ok ? compiled.value.topicFilter : "";
}

function describeAction(action: TopicRuleAction): string {
  return action.lambda?.functionArn ?? (action.republish ? `republish to ${action.republish.topic}` : Object.keys(action)[0] ?? "?");
}

/** Only actions the stand-in runs are accepted: an action stored but never run would hide a mistake. */
function checkAction(action: TopicRuleAction, sql: CompiledSql): void {
  const kinds = Object.keys(action ?? {});
  if (kinds.length !== 1) throw new AwsError("InvalidRequestException", "each action names exactly one kind (lambda, republish, ...)");
  if (action.lambda) {
    if (typeof action.lambda.functionArn !== "string") throw new AwsError("InvalidRequestException", "lambda.functionArn is required");
    return;
  }
  if (action.republish) {
    if (typeof action.republish.topic !== "string" || action.republish.topic === "") throw new AwsError("InvalidRequestException", "republish.topic is required");
    if (action.republish.qos !== undefined && action.republish.qos !== 0 && action.republish.qos !== 1) throw new AwsError("InvalidRequestException", "republish.qos must be 0 or 1");
    for (const [, inner] of action.republish.topic.matchAll(/\$\{([^}]*)\}/g)) {
      const expr = sql.expression(inner!);
      if (!expr.ok) throw new AwsError("InvalidRequestException", `republish.topic: ${expr.failure.message}`);
    }
    return;
  }
  throw new AwsError("InvalidRequestException", `the ${kinds[0]} action is not run by this stand-in: it runs lambda (local functions) and republish`);
}
