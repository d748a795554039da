// The stack's configuration: CDK context (`-c key=value` or cdk.json), read and validated
// once at synth. Every problem names its context key and what it expects, all at once.

import { parseEnabledTypes } from '../lambdas/core/registry';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../lambdas/adapters/queue-layout';
import { DEFAULTS } from '../lambdas/config';
import { partnerSourceProblem } from '../lambdas/eventbridge/envelope';
import {
  DEFAULT_INGRESS,
  INGRESS_MODES,
  acceptsEventBridge,
  type IngressMode,
} from '../lambdas/eventbridge/ingress-mode';
import { DEFAULT_STAGE, stackNameFor } from './stack-outputs';

/** The context keys this app reads; `-c <key>=<value>` on the cdk command line. */
export const CONTEXT_KEYS = {
  stage: 'stage',
  stripeMode: 'stripeMode',
  webhookRateLimit: 'webhookRateLimit',
  webhookBurstLimit: 'webhookBurstLimit',
  customerRateLimit: 'customerRateLimit',
  customerBurstLimit: 'customerBurstLimit',
  maxReceiveCount: 'maxReceiveCount',
  processorMaxConcurrency: 'processorMaxConcurrency',
  alarmEmail: 'alarmEmail',
  enabledEventTypes: 'enabledEventTypes',
  tracing: 'tracing',
  expiryWarningDays: 'expiryWarningDays',
  parkedAlarmHours: 'parkedAlarmHours',
  sweepMinutes: 'sweepMinutes',
  signatureToleranceSeconds: 'signatureToleranceSeconds',
  ingress: 'ingress',
  eventBridgeSource: 'eventBridgeSource',
  applicationLogLevel: 'applicationLogLevel',
  systemLogLevel: 'systemLogLevel',
} as const;

export type StripeMode = 'live' | 'test';
/** `both` (the default) processes live and test events alike. */
export type StripeModeSetting = StripeMode | 'both';

/** Lambda's application log levels, most detailed first. */
export const APPLICATION_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type ApplicationLogLevel = (typeof APPLICATION_LOG_LEVELS)[number];
/** Lambda's system (platform) log levels: INFO keeps START/END/REPORT, WARN drops them. */
export const SYSTEM_LOG_LEVELS = ['DEBUG', 'INFO', 'WARN'] as const;
export type SystemLogLevel = (typeof SYSTEM_LOG_LEVELS)[number];

export interface BillingGateConfig {
  /** Deployment stage; names the stack, prefixes the queues and the metrics namespace. */
  readonly stage: string;
  /** `StripeBillingGate` for the default stage (what the operator commands look for), else `StripeBillingGate-<stage>`. */
  readonly stackName: string;
  /** Queue names are `<queuePrefix>-<typeSlug>` and `<queuePrefix>-<typeSlug>-dlq`. */
  readonly queuePrefix: string;
  /** Only events of this mode are processed; null processes both. */
  readonly stripeMode: StripeMode | null;
  /** Steady-state requests per second of `POST /webhook`. */
  readonly webhookRateLimit: number;
  /** Requests `POST /webhook` accepts in a burst above its steady rate. */
  readonly webhookBurstLimit: number;
  /** Steady-state requests per second of each IAM-authorised customer route. */
  readonly customerRateLimit: number;
  /** Burst of each customer route above its steady rate. */
  readonly customerBurstLimit: number;
  /** Receives of one message before it moves to its dead-letter queue. */
  readonly maxReceiveCount: number;
  /** Concurrent invocations each processor's queue poller may run. */
  readonly processorMaxConcurrency: number;
  /** Subscribed by e-mail to the alerts topic when set. */
  readonly alarmEmail: string | null;
  /** The registry types that get a queue and a processor, in registry order. */
  readonly enabledEventTypes: readonly string[];
  /** X-Ray active tracing on every function. */
  readonly tracing: boolean;
  readonly expiryWarningDays: number;
  /** The parked-events alarm fires when the oldest parked event is older than this. */
  readonly parkedAlarmHours: number;
  /** Interval of the parked-event sweeper. */
  readonly sweepMinutes: number;
  readonly signatureToleranceSeconds: number;
  /** How events arrive: the webhook endpoint, Stripe's EventBridge destination, or both. */
  readonly ingress: IngressMode;
  /** The partner event source (`aws.partner/stripe.com/ed_...`); set exactly when ingress uses EventBridge. */
  readonly eventBridgeSource: string | null;
  /** The lowest level of the functions' own log lines that reaches CloudWatch Logs. */
  readonly applicationLogLevel: ApplicationLogLevel;
  /** The lowest level of Lambda's platform lines (START, END, REPORT are INFO). */
  readonly systemLogLevel: SystemLogLevel;
}

export const CONFIG_DEFAULTS = {
  stage: DEFAULT_STAGE,
  webhookRateLimit: 100,
  webhookBurstLimit: 200,
  customerRateLimit: 100,
  customerBurstLimit: 200,
  maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
  processorMaxConcurrency: 5,
  tracing: false,
  expiryWarningDays: DEFAULTS.expiryWarningDays,
  parkedAlarmHours: 24,
  sweepMinutes: 5,
  signatureToleranceSeconds: DEFAULTS.signatureToleranceSeconds,
  applicationLogLevel: 'INFO',
  systemLogLevel: 'WARN',
} as const satisfies Partial<BillingGateConfig>;

/** Every invalid value, one line each. */
export class ContextConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid billing gate configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ContextConfigError';
  }
}

/** Reads one context value (e.g. `(key) => app.node.tryGetContext(key)`). */
export type ContextReader = (key: string) => unknown;

export interface LoadConfigOptions {
  /**
   * Every context key that is set (e.g. `Object.keys(app.node.getAllContext())`): a key
   * this app does not know is reported with the closest known one, so a misspelling
   * cannot fall back to a default unnoticed. Keys of the CDK itself are left alone.
   * @default - not checked
   */
  readonly presentKeys?: readonly string[];
}

/**
 * Loads and validates the whole configuration. Values may be strings (`-c key=value`) or
 * JSON numbers and booleans (cdk.json); empty strings count as unset.
 */
export function loadConfig(
  read: ContextReader,
  options: LoadConfigOptions = {},
): BillingGateConfig {
  const problems: string[] = unknownKeyProblems(options.presentKeys ?? []);
  const fields = new ContextFields(read, problems);

  // Queue names are capped at 80 characters: "sbg-" + stage + "-" + the longest slug
  // (36) + "-dlq" must fit, hence 20 characters at most.
  const stage = fields.pattern(
    CONTEXT_KEYS.stage,
    /^[a-z][a-z0-9-]{0,19}$/,
    'a lowercase name of 1-20 letters, digits and hyphens starting with a letter (e.g. "prod")',
    CONFIG_DEFAULTS.stage,
  );
  const stripeMode = fields.oneOf(CONTEXT_KEYS.stripeMode, ['live', 'test', 'both'] as const);
  const rate = (key: string, fallback: number) =>
    fields.number(key, fallback, { min: 1, max: 10_000 });
  const burst = (key: string, fallback: number) =>
    fields.integer(key, fallback, { min: 1, max: 5_000 });
  const config: BillingGateConfig = {
    stage,
    stackName: stackNameFor(stage),
    queuePrefix: `sbg-${stage}`,
    stripeMode: stripeMode === undefined || stripeMode === 'both' ? null : stripeMode,
    webhookRateLimit: rate(CONTEXT_KEYS.webhookRateLimit, CONFIG_DEFAULTS.webhookRateLimit),
    webhookBurstLimit: burst(CONTEXT_KEYS.webhookBurstLimit, CONFIG_DEFAULTS.webhookBurstLimit),
    customerRateLimit: rate(CONTEXT_KEYS.customerRateLimit, CONFIG_DEFAULTS.customerRateLimit),
    customerBurstLimit: burst(CONTEXT_KEYS.customerBurstLimit, CONFIG_DEFAULTS.customerBurstLimit),
    maxReceiveCount: fields.integer(CONTEXT_KEYS.maxReceiveCount, CONFIG_DEFAULTS.maxReceiveCount, {
      min: 1,
      max: 1_000,
    }),
    // Lambda accepts 2-1000 for an SQS event source's maximum concurrency.
    processorMaxConcurrency: fields.integer(
      CONTEXT_KEYS.processorMaxConcurrency,
      CONFIG_DEFAULTS.processorMaxConcurrency,
      { min: 2, max: 1_000 },
    ),
    alarmEmail:
      fields.pattern(
        CONTEXT_KEYS.alarmEmail,
        /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/,
        'one e-mail address (e.g. "ops@example.com")',
        '',
      ) || null,
    enabledEventTypes: fields.eventTypes(CONTEXT_KEYS.enabledEventTypes),
    tracing: fields.boolean(CONTEXT_KEYS.tracing, CONFIG_DEFAULTS.tracing),
    expiryWarningDays: fields.integer(
      CONTEXT_KEYS.expiryWarningDays,
      CONFIG_DEFAULTS.expiryWarningDays,
      { min: 0, max: 3_650 },
    ),
    parkedAlarmHours: fields.integer(
      CONTEXT_KEYS.parkedAlarmHours,
      CONFIG_DEFAULTS.parkedAlarmHours,
      { min: 1, max: 720 },
    ),
    sweepMinutes: fields.integer(CONTEXT_KEYS.sweepMinutes, CONFIG_DEFAULTS.sweepMinutes, {
      min: 1,
      max: 720,
    }),
    signatureToleranceSeconds: fields.integer(
      CONTEXT_KEYS.signatureToleranceSeconds,
      CONFIG_DEFAULTS.signatureToleranceSeconds,
      { min: 1, max: 86_400 },
    ),
    ...eventBridgeIngress(fields, problems),
    applicationLogLevel:
      fields.oneOf(CONTEXT_KEYS.applicationLogLevel, APPLICATION_LOG_LEVELS, true) ??
      CONFIG_DEFAULTS.applicationLogLevel,
    systemLogLevel:
      fields.oneOf(CONTEXT_KEYS.systemLogLevel, SYSTEM_LOG_LEVELS, true) ??
      CONFIG_DEFAULTS.systemLogLevel,
  };
  if (problems.length > 0) throw new ContextConfigError(problems);
  return config;
}

/** `ingress` and `eventBridgeSource`, which only make sense together. */
function eventBridgeIngress(
  fields: ContextFields,
  problems: string[],
): Pick<BillingGateConfig, 'ingress' | 'eventBridgeSource'> {
  const ingress = fields.oneOf(CONTEXT_KEYS.ingress, INGRESS_MODES) ?? DEFAULT_INGRESS;
  const key = CONTEXT_KEYS.eventBridgeSource;
  const before = problems.length;
  const source =
    fields.pattern(
      key,
      /^[\s\S]+$/,
      'a partner event source name (aws.partner/stripe.com/ed_...)',
      '',
    ) || null;
  if (problems.length > before) return { ingress, eventBridgeSource: null };
  if (!acceptsEventBridge(ingress)) {
    if (source !== null) {
      problems.push(
        `${key} is only used with ingress "eventbridge" or "both" (ingress is "${ingress}"): add -c ingress=eventbridge (or both), or remove ${key}`,
      );
    }
    return { ingress, eventBridgeSource: null };
  }
  if (source === null) {
    problems.push(
      `${key} is required with ingress "${ingress}": the partner event source name that \`npm run register-endpoint -- --eventbridge\` prints (aws.partner/stripe.com/ed_...)`,
    );
    return { ingress, eventBridgeSource: null };
  }
  const problem = partnerSourceProblem(source);
  if (problem) problems.push(`${key} ${problem}, got ${JSON.stringify(source)}`);
  return { ingress, eventBridgeSource: problem ? null : source };
}

/**
 * Context keys that belong to the CDK and its CLI, not to this app: feature flags
 * (`@aws-cdk/...`), the CLI's own (`aws:cdk:...`, `cdk-...`), and cached lookups
 * (`availability-zones:account=...`, which all contain a colon).
 */
function isCdkOwnKey(key: string): boolean {
  return (
    key.startsWith('@') ||
    key.startsWith('aws:') ||
    key.startsWith('cdk-') ||
    key.includes(':') ||
    key === 'acknowledged-issue-numbers'
  );
}

function unknownKeyProblems(present: readonly string[]): string[] {
  const known: readonly string[] = Object.values(CONTEXT_KEYS);
  return present
    .filter((key) => !isCdkOwnKey(key) && !known.includes(key))
    .map((key) => {
      const closest = closestKey(key, known);
      return `unknown context key "${key}"${closest ? `: did you mean "${closest}"?` : ''} (known keys: ${known.join(', ')})`;
    });
}

/** The known key nearest to `key` by edit distance (case-insensitive), if it is near at all. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  // Beyond a third of the key's length, a "did you mean" guesses rather than helps.
  return best && best.distance <= Math.max(2, Math.ceil(key.length / 3)) ? best.key : undefined;
}

/** Damerau-Levenshtein distance (optimal string alignment): a swap of two letters costs 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** Typed readers over the raw context; each records a problem instead of throwing. */
class ContextFields {
  constructor(
    private readonly read: ContextReader,
    private readonly problems: string[],
  ) {}

  private raw(key: string): string | number | boolean | undefined {
    const value = this.read(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
    if (typeof value === 'number' || typeof value === 'boolean') return value;
    this.problems.push(`${key} must be a string, number or boolean, got ${JSON.stringify(value)}`);
    return undefined;
  }

  private fail(key: string, expected: string, got: unknown): void {
    this.problems.push(`${key} must be ${expected}, got ${JSON.stringify(got)}`);
  }

  pattern(key: string, re: RegExp, expected: string, fallback: string): string {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !re.test(v)) {
      this.fail(key, expected, v);
      return fallback;
    }
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], upperCase = false): T | undefined {
    const raw = this.raw(key);
    if (raw === undefined) return undefined;
    const v = upperCase && typeof raw === 'string' ? raw.toUpperCase() : raw;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(key, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, raw);
      return undefined;
    }
    return v as T;
  }

  number(key: string, fallback: number, { min, max }: { min: number; max: number }): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) {
      this.fail(key, `a number from ${min} to ${max}`, v);
      return fallback;
    }
    return n;
  }

  integer(key: string, fallback: number, { min, max }: { min: number; max: number }): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      this.fail(key, `a whole number from ${min} to ${max}`, v);
      return fallback;
    }
    return n;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    this.fail(key, '"true" or "false"', v);
    return fallback;
  }

  eventTypes(key: string): string[] {
    const v = this.raw(key);
    if (v !== undefined && typeof v !== 'string') {
      this.fail(key, 'a comma-separated list of event types', v);
      return parseEnabledTypes(undefined);
    }
    try {
      return parseEnabledTypes(v);
    } catch (err) {
      this.problems.push(`${key}: ${(err as Error).message}`);
      return parseEnabledTypes(undefined);
    }
  }
}
