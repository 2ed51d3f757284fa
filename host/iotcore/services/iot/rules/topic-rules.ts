// Topic rules: persisted records, their control-plane operations, and dispatch of published
// messages to the rules' function (Lambda) actions.

import type { Collection } from "../../../registry/collection.js";
import { AwsError } from "../../../registry/errors.js";
import type { LocalFunctions } from "../../lambda/local-functions.js";
import { matchesConditions, parseSql, topicMatches } from "./sql.js";
import type { OperationInput } from "../../../control/server.js";

export interface TopicRuleAction { lambda?: { functionArn: string }; [other: string]: unknown }

export interface TopicRuleRecord {
  ruleName: string;
  ruleArn: string;
  sql: string;
  description?: string;
  actions: TopicRuleAction[];
  ruleDisabled: boolean;
  awsIotSqlVersion?: string;
  createdAt: number;   // epoch seconds
}

export interface TopicRulesHost {
  records: Collection<TopicRuleRecord>;
  arn(resource: string): string;
  functions: LocalFunctions;
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
  onMessage(topic: string, payload: Uint8Array): void {
    for (const rule of this.host.records.list()) {
      if (rule.ruleDisabled) continue;
      const parsed = parseSql(rule.sql);
      if (!parsed.ok || !topicMatches(parsed.value.topicFilter, topic)) continue;
      let event: unknown;
      try {
        event = JSON.parse(Buffer.from(payload).toString("utf8"));
      } catch {
        this.host.log(`rule ${rule.ruleName}: payload on ${topic} is not JSON, skipped`);
        continue;
      }
      if (!matchesConditions(parsed.value.conditions, event)) continue;
      for (const action of rule.actions) this.runAction(rule, action, topic, event);
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
    const parsed = parseSql(sql);
    if (!parsed.ok) throw new AwsError("SqlParseException", parsed.failure.message);
    const actions: TopicRuleAction[] = Array.isArray(payload.actions) ? payload.actions : [];
    const record: TopicRuleRecord = {
      ruleName, ruleArn: this.host.arn(`rule/${ruleName}`), sql, actions,
      ruleDisabled: payload.ruleDisabled === true, createdAt,
      ...(payload.description !== undefined ? { description: String(payload.description) } : {}),
      ...(payload.awsIotSqlVersion !== undefined ? { awsIotSqlVersion: String(payload.awsIotSqlVersion) } : {}),
    };
    this.host.records.put(ruleName, record);
    this.host.log(`rule ${ruleName}: ${sql.replace(/\s+/g, " ").trim()} -> ${actions.map(describeAction).join(", ") || "no actions"}`);
  }

  private runAction(rule: TopicRuleRecord, action: TopicRuleAction, topic: string, event: unknown): void {
    if (!action.lambda?.functionArn) {
      this.host.log(`rule ${rule.ruleName}: action ${describeAction(action)} is not run by this stand-in`);
      return;
    }
    const arn = action.lambda.functionArn;
    this.host.log(`rule ${rule.ruleName}: ${topic} -> ${arn}`);
    const run = this.host.functions.invoke(arn, event).then((result) => {
      this.host.log(`rule ${rule.ruleName}: ${arn} ${result.ok ? "succeeded" : `failed: ${result.failure.message}`}`);
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
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
  const parsed = parseSql(rule.sql);
  return parsed.ok ? parsed.value.topicFilter : "";
}

function describeAction(action: TopicRuleAction): string {
  return action.lambda?.functionArn ?? Object.keys(action)[0] ?? "?";
}
