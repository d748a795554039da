// The deployer's access policy (docs/behaviour.md#access-policy): per condition reason, whether
// it blocks, warns or is ignored, after how long a grace, and whether an invoice's failed
// payment waits while Stripe still retries it. Parsed and validated once (synth, start-up);
// every reader evaluates the same normalised policy. Pure: no I/O.

/** Reasons whose action the policy may set; `operator_deny` is not configurable. */
export const BLOCKING_REASONS = [
  'payment_failed',
  'invoice_uncollectible',
  'invoice_overdue',
  'dispute_open',
  'subscription_past_due',
  'subscription_unpaid',
  'subscription_paused',
  'customer_deleted',
] as const;
export const WARNING_REASONS = [
  'payment_action_required',
  'payment_method_expiring',
  'no_valid_payment_method',
] as const;

export type DefaultBlockReason = (typeof BLOCKING_REASONS)[number];
export type DefaultWarnReason = (typeof WARNING_REASONS)[number];
/** Every reason a rule can open a condition for. */
export type ConditionReason = DefaultBlockReason | DefaultWarnReason;

export const CONDITION_REASONS: readonly ConditionReason[] = [
  ...BLOCKING_REASONS,
  ...WARNING_REASONS,
];

export type PolicyAction = 'block' | 'warn' | 'ignore';

/** One reason's rule, normalised: grace in seconds. */
export interface ReasonPolicy {
  readonly action: PolicyAction;
  /** Seconds the condition warns before it blocks; null: no grace. Only with `block`. */
  readonly grace: number | null;
  /** Only `payment_failed` with `block`: an invoice's failure warns while Stripe retries it. */
  readonly whileRetrying: boolean;
}

export type Policy = Readonly<Record<ConditionReason, ReasonPolicy>>;

/** A duration as the document gives it: seconds, or digits followed by s, m, h or d. */
export type Duration = number | `${number}${'s' | 'm' | 'h' | 'd'}`;

/** One entry of the policy document, as written (the typed `BillingGate` prop). */
export interface PolicyEntry {
  readonly action: PolicyAction;
  readonly grace?: Duration;
  readonly whileRetrying?: boolean;
}

/** The policy document: reasons that are absent keep their default action. */
export type PolicyDocument = Partial<Record<ConditionReason, PolicyEntry>>;

/** At most 90 days of grace. */
export const MAX_GRACE_SECONDS = 90 * 86_400;

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400 };

const defaultEntry = (reason: ConditionReason): ReasonPolicy => ({
  action: (BLOCKING_REASONS as readonly string[]).includes(reason) ? 'block' : 'warn',
  grace: null,
  whileRetrying: false,
});

/** The policy with no document: every reason keeps its default action. */
export const DEFAULT_POLICY: Policy = Object.fromEntries(
  CONDITION_REASONS.map((r) => [r, defaultEntry(r)]),
) as unknown as Policy;

/** A policy document that cannot be used; `problems` names each entry at fault. */
export class PolicyError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid policy: ${problems.join('; ')}`);
    this.name = 'PolicyError';
  }
}

/**
 * A duration in seconds: a whole number of seconds, or digits followed by `s`, `m`, `h` or
 * `d`, at most `max`. Null when it is not one (the caller names what it belongs to).
 */
export function parseDuration(value: unknown, max: number): number | null {
  let seconds: number;
  if (typeof value === 'number') {
    seconds = value;
  } else if (typeof value === 'string') {
    const m = /^(\d{1,9})([smhd])$/.exec(value);
    if (!m) return null;
    seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  } else {
    return null;
  }
  return Number.isSafeInteger(seconds) && seconds >= 0 && seconds <= max ? seconds : null;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const ENTRY_FIELDS = ['action', 'grace', 'whileRetrying'];

/**
 * Validates a policy document (already parsed from JSON, or the typed prop) and normalises it.
 * Every problem is reported at once, each naming its entry; throws PolicyError.
 */
export function parsePolicy(document: unknown): Policy {
  if (document === undefined || document === null) return DEFAULT_POLICY;
  if (!isObject(document)) {
    throw new PolicyError(['the policy must be a JSON object keyed by condition reason']);
  }
  const problems: string[] = [];
  const policy: Record<string, ReasonPolicy> = { ...DEFAULT_POLICY };
  for (const [reason, raw] of Object.entries(document)) {
    const at = `"${reason}"`;
    if (!(CONDITION_REASONS as readonly string[]).includes(reason)) {
      problems.push(
        reason === 'operator_deny'
          ? `${at}: an operator's deny always blocks and is not configurable`
          : `${at} is not a condition reason (expected one of ${CONDITION_REASONS.join(', ')})`,
      );
      continue;
    }
    if (!isObject(raw)) {
      problems.push(`${at} must be an object such as {"action": "block"}`);
      continue;
    }
    const unknown = Object.keys(raw).filter((k) => !ENTRY_FIELDS.includes(k));
    for (const field of unknown) {
      problems.push(`${at}.${field} is not a policy field (expected action, grace, whileRetrying)`);
    }
    const action = raw.action;
    if (action !== 'block' && action !== 'warn' && action !== 'ignore') {
      problems.push(
        `${at}.action must be "block", "warn" or "ignore", got ${JSON.stringify(action)}`,
      );
      continue;
    }
    let grace: number | null = null;
    if (raw.grace !== undefined) {
      grace = parseDuration(raw.grace, MAX_GRACE_SECONDS);
      if (grace === null) {
        problems.push(
          `${at}.grace must be a number of seconds or digits followed by s, m, h or d (e.g. "7d"), at most 90 days; got ${JSON.stringify(raw.grace)}`,
        );
      } else if (action !== 'block') {
        problems.push(`${at}.grace applies only with action "block" (action is "${action}")`);
      }
    }
    let whileRetrying = false;
    if (raw.whileRetrying !== undefined) {
      if (typeof raw.whileRetrying !== 'boolean') {
        problems.push(
          `${at}.whileRetrying must be true or false, got ${JSON.stringify(raw.whileRetrying)}`,
        );
      } else if (reason !== 'payment_failed') {
        problems.push(`${at}.whileRetrying applies only to "payment_failed"`);
      } else if (action !== 'block') {
        problems.push(
          `${at}.whileRetrying applies only with action "block" (action is "${action}")`,
        );
      } else {
        whileRetrying = raw.whileRetrying;
      }
    }
    policy[reason] = { action, grace: action === 'block' ? grace : null, whileRetrying };
  }
  if (problems.length > 0) throw new PolicyError(problems);
  return policy as unknown as Policy;
}

/** Reads a policy given as JSON text; a text that is not JSON is a PolicyError. */
export function parsePolicyJson(text: string): Policy {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new PolicyError([`the policy is not valid JSON (${(err as Error).message})`]);
  }
  return parsePolicy(document);
}

/**
 * The policy as a document holding only what differs from the defaults, in reason order:
 * the canonical form the functions are configured with and the settings item stores.
 */
export function policyDocument(policy: Policy): PolicyDocument {
  const doc: Record<string, PolicyEntry> = {};
  for (const reason of CONDITION_REASONS) {
    const p = policy[reason];
    const d = DEFAULT_POLICY[reason];
    if (p.action === d.action && p.grace === null && !p.whileRetrying) continue;
    doc[reason] = {
      action: p.action,
      ...(p.grace !== null ? { grace: p.grace } : {}),
      ...(p.whileRetrying ? { whileRetrying: true } : {}),
    };
  }
  return doc;
}
