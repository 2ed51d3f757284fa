// The account-level limits as command-line options, the same on `npm run iotcore` and
// `npm run fleet` (docs/fleet.md#account-limits): each defaults to AWS's figure.

import { ACCOUNT_LIMITS, type AccountLimits } from "../iotcore/index.js";
import { wholeNumber, type OptionSpec } from "./command-line.js";

const OPTIONS = {
  "connect-limit": ["connectsPerSecond", "CONNECT requests per second for the account"],
  "publish-limit": ["publishesPerSecond", "inbound publishes per second for the account"],
  "subscribe-limit": ["subscriptionsPerSecond", "subscriptions (topic filters) per second for the account"],
  "provisioning-limit": ["registrationsPerSecond", "JITP/JITR registrations and RegisterThing per second for the account"],
} as const satisfies Record<string, readonly [keyof AccountLimits, string]>;

type LimitOption = keyof typeof OPTIONS;

export const ACCOUNT_LIMIT_OPTIONS = Object.fromEntries(Object.entries(OPTIONS).map(([name, [field, what]]) =>
  [name, { value: "N", help: `${what} (AWS default ${ACCOUNT_LIMITS[field].toLocaleString("en-US")})` }])) as Record<LimitOption, OptionSpec>;

/** The limits the options give, AWS's defaults for the others. Throws UsageError for a value that is not a whole number from 1 to 1,000,000. */
export function accountLimitsFrom(values: Partial<Record<LimitOption, string | boolean | string[]>>): AccountLimits {
  const limits: AccountLimits = { ...ACCOUNT_LIMITS };
  for (const [name, [field]] of Object.entries(OPTIONS) as [LimitOption, (typeof OPTIONS)[LimitOption]][]) {
    const value = values[name];
    if (typeof value === "string") limits[field] = wholeNumber(name, value, 1, 1_000_000);
  }
  return limits;
}
