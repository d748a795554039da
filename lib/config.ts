// The gate's settings, each declared once below (SETTINGS): its context key (`-c key=value`
// or cdk.json), which is also the `BillingGate` prop of the same name, its type as a prop, its
// value and default in the configuration, its validation and its doc. The context keys, the
// props type, the defaults, the configuration type and the loader all derive from it, so a
// setting cannot be known to one and forgotten by another. Read and validated once at synth;
// every problem names its key and what it expects, all at once.

import { DEFAULT_MAX_RECEIVE_COUNT } from '../lambdas/adapters/queue-layout';
import { DEFAULTS } from '../lambdas/config';
import { ConfigError } from '../lambdas/core/errors';
import { policyDocument, type PolicyDocument } from '../lambdas/core/policy';
import { parseEnabledTypes } from '../lambdas/core/registry';
import { partnerSourceProblem } from '../lambdas/eventbridge/envelope';
import {
  DEFAULT_INGRESS,
  INGRESS_MODES,
  acceptsEventBridge,
  type IngressMode,
} from '../lambdas/eventbridge/ingress-mode';
import { policyOf, readPolicy } from '../lambdas/settings';
import { DEFAULT_STAGE, stackNameFor } from './stack-outputs';

export type StripeMode = 'live' | 'test';
/** `both` (the default) processes live and test events alike. */
export type StripeModeSetting = StripeMode | 'both';

/** Lambda's application log levels, most detailed first. */
export const APPLICATION_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type ApplicationLogLevel = (typeof APPLICATION_LOG_LEVELS)[number];
/** Lambda's system (platform) log levels: INFO keeps START/END/REPORT, WARN drops them. */
export const SYSTEM_LOG_LEVELS = ['DEBUG', 'INFO', 'WARN'] as const;
export type SystemLogLevel = (typeof SYSTEM_LOG_LEVELS)[number];

/**
 * One setting: `Prop` is its type as a `BillingGate` prop, `Value` its type in the
 * configuration (BillingGateConfig).
 */
export interface Setting<Prop, Value> {
  /** The configuration's value when the key is unset. */
  readonly default: Value;
  /**
   * Reads the value from `field` (a `-c` string, a cdk.json value or the prop), recording any
   * problem on it instead of throwing. `earlier` holds the settings declared before this one.
   */
  parse(field: Field, earlier: Readonly<Record<string, unknown>>): Value;
  /** The prop that states `value`, undefined for none. @default - the value itself */
  toProp?(value: Value): Prop | undefined;
}

const setting = <Prop, Value = Prop>(spec: Setting<Prop, Value>): Setting<Prop, Value> => spec;

const wholeNumber = (fallback: number, range: Range) =>
  setting<number>({ default: fallback, parse: (f) => f.integer(fallback, range) });
/** Requests per second of an API Gateway throttle. */
const rate = (fallback: number) =>
  setting<number>({ default: fallback, parse: (f) => f.number(fallback, { min: 1, max: 10_000 }) });
/** The burst of an API Gateway throttle. */
const burst = (fallback: number) => wholeNumber(fallback, { min: 1, max: 5_000 });
const flag = (fallback: boolean) =>
  setting<boolean>({ default: fallback, parse: (f) => f.boolean(fallback) });
const logLevel = <T extends string>(levels: readonly T[], fallback: T) =>
  setting<T>({ default: fallback, parse: (f) => f.oneOf(levels, true) ?? fallback });

// Queue names are capped at 80 characters: "sbg-" + stage + "-" + the longest slug (36) +
// "-dlq" must fit, hence 20 characters at most.
const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * Every setting, in the order problems are reported. Each key is a context key and the
 * `BillingGate` prop of the same name; the doc comment is the prop's.
 */
export const SETTINGS = {
  /**
   * Deployment stage: names the stack (`StripeBillingGate` for `dev`, else
   * `StripeBillingGate-<stage>`), prefixes the queues (`sbg-<stage>-...`), the alarms and the
   * dashboard, and names the metrics namespace (`StripeBillingGate/<stage>`). Lowercase
   * letters, digits and hyphens, 1-20 characters.
   * @default 'dev'
   */
  stage: setting<string>({
    default: DEFAULT_STAGE,
    parse: (f) =>
      f.pattern(
        STAGE_PATTERN,
        'a lowercase name of 1-20 letters, digits and hyphens starting with a letter (e.g. "prod")',
        DEFAULT_STAGE,
      ),
  }),
  /**
   * Which Stripe mode's events are processed; events of the other mode are acknowledged
   * and ignored. In the configuration, null stands for `both`.
   * @default 'both'
   */
  stripeMode: setting<StripeModeSetting, StripeMode | null>({
    default: null,
    parse: (f) => {
      const mode = f.oneOf(['live', 'test', 'both'] as const);
      return mode === undefined || mode === 'both' ? null : mode;
    },
    toProp: (mode) => mode ?? 'both',
  }),
  /** Steady requests per second of `POST /webhook`. @default 100 */
  webhookRateLimit: rate(100),
  /** Burst of `POST /webhook` above its steady rate. @default 200 */
  webhookBurstLimit: burst(200),
  /** Steady requests per second of each IAM-authorised customer route. @default 100 */
  customerRateLimit: rate(100),
  /** Burst of each customer route above its steady rate. @default 200 */
  customerBurstLimit: burst(200),
  /** Receives of a message before it moves to its dead-letter queue. @default 5 */
  maxReceiveCount: wholeNumber(DEFAULT_MAX_RECEIVE_COUNT, { min: 1, max: 1_000 }),
  /**
   * Concurrent invocations each processor's queue poller may run (Lambda accepts 2-1000 for
   * an SQS event source's maximum concurrency).
   * @default 5
   */
  processorMaxConcurrency: wholeNumber(5, { min: 2, max: 1_000 }),
  /**
   * Subscribed by e-mail to the alerts topic. In the configuration, null stands for none.
   * @default - no subscription (a warning at synth outside the dev stage)
   */
  alarmEmail: setting<string, string | null>({
    default: null,
    parse: (f) =>
      f.pattern(
        /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/,
        'one e-mail address (e.g. "ops@example.com")',
        '',
      ) || null,
    toProp: (email) => email ?? undefined,
  }),
  /**
   * The registry types that get a queue and a processor (kept in registry order); in context,
   * a comma-separated list.
   * @default - all of them
   */
  enabledEventTypes: setting<readonly string[]>({
    default: parseEnabledTypes(undefined),
    parse: (f) => {
      const all = parseEnabledTypes(undefined);
      const value = f.value();
      const isList =
        typeof value === 'string' ||
        (Array.isArray(value) && value.every((t) => typeof t === 'string'));
      if (value !== undefined && !isList) {
        f.fail('a comma-separated list of event types', value);
        return all;
      }
      try {
        return parseEnabledTypes(value as string | readonly string[] | undefined);
      } catch (err) {
        f.problem(`${f.key}: ${(err as Error).message}`);
        return all;
      }
    },
  }),
  /** X-Ray active tracing on every function. @default false */
  tracing: flag(false),
  /**
   * How many days before its expiry a card counts as expiring (EXPIRY_WARNING_DAYS of every
   * function that derives a status).
   * @default 30
   */
  expiryWarningDays: wholeNumber(DEFAULTS.expiryWarningDays, { min: 0, max: 3_650 }),
  /** The parked-events alarm fires when the oldest parked event is older than this. @default 24 */
  parkedAlarmHours: wholeNumber(24, { min: 1, max: 720 }),
  /**
   * How often, in minutes, the sweeper retries parked events and publishes their metrics
   * (SWEEP_MINUTES); the sweeper itself runs every minute, for the changes time makes.
   * @default 5
   */
  sweepMinutes: wholeNumber(5, { min: 1, max: 720 }),
  /** Allowed distance between a signature's timestamp and now, in seconds. @default 300 */
  signatureToleranceSeconds: wholeNumber(DEFAULTS.signatureToleranceSeconds, {
    min: 1,
    max: 86_400,
  }),
  /**
   * How Stripe's events come in: `webhook` (the public `POST /webhook` route, its verifier
   * and signing secret), `eventbridge` (Stripe's Amazon EventBridge destination: a partner
   * event bus with one rule per enabled type, and no public route, verifier or signing
   * secret), or `both` (while moving from one to the other; each event is still applied
   * once).
   * @default 'webhook'
   */
  ingress: setting<IngressMode>({
    default: DEFAULT_INGRESS,
    parse: (f) => f.oneOf(INGRESS_MODES) ?? DEFAULT_INGRESS,
  }),
  /**
   * The partner event source Stripe created for its EventBridge destination,
   * `aws.partner/stripe.com/ed_...` (`npm run register-endpoint -- --eventbridge` prints
   * it). Required with ingress `eventbridge` or `both`, refused with `webhook`. In the
   * configuration, null stands for none.
   * @default - none
   */
  eventBridgeSource: setting<string, string | null>({
    default: null,
    parse: (f, earlier) => {
      // `ingress` is declared before this setting, so it is read already.
      const ingress = earlier.ingress as IngressMode;
      const source =
        f.pattern(/^[\s\S]+$/, 'a partner event source name (aws.partner/stripe.com/ed_...)', '') ||
        null;
      if (f.failed) return null;
      if (!acceptsEventBridge(ingress)) {
        if (source !== null) {
          f.problem(
            `${f.key} is only used with ingress "eventbridge" or "both" (ingress is "${ingress}"): add -c ingress=eventbridge (or both), or remove ${f.key}`,
          );
        }
        return null;
      }
      if (source === null) {
        f.problem(
          `${f.key} is required with ingress "${ingress}": the partner event source name that \`npm run register-endpoint -- --eventbridge\` prints (aws.partner/stripe.com/ed_...)`,
        );
        return null;
      }
      const problem = partnerSourceProblem(source);
      if (problem) f.problem(`${f.key} ${problem}, got ${JSON.stringify(source)}`);
      return problem ? null : source;
    },
    toProp: (source) => source ?? undefined,
  }),
  /**
   * The lowest level of the functions' own log lines that reaches CloudWatch Logs.
   * Handlers log each successfully handled event at DEBUG and every warning and failure
   * above INFO. Above INFO, Lambda also drops the metric (EMF) lines, which carry no level:
   * the business metrics and their alarms would go blind (a warning at synth says so).
   * @default 'INFO'
   */
  applicationLogLevel: logLevel(APPLICATION_LOG_LEVELS, 'INFO'),
  /** The lowest level of Lambda's platform lines; WARN drops START/END/REPORT. @default 'WARN' */
  systemLogLevel: logLevel(SYSTEM_LOG_LEVELS, 'WARN'),
  /**
   * The access policy (docs/behaviour.md#access-policy): per condition reason, whether it
   * blocks, warns or is ignored, after how long a grace. As a prop the document itself; in
   * context the JSON document, or the path of a JSON file (relative to where `npx cdk` runs).
   * Validated at synth; every function that derives a status gets its canonical form
   * (GATE_POLICY). In the configuration, the canonical document (only what differs from the
   * defaults).
   * @default - none: every reason keeps its default action
   */
  policy: setting<PolicyDocument>({
    default: {},
    parse: (f) => {
      const value = f.value();
      if (value === undefined) return {};
      try {
        return policyDocument(
          typeof value === 'string' ? readPolicy(value, f.key) : policyOf(value, f.key),
        );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        f.problem(err.message);
        return {};
      }
    },
  }),
  /**
   * A CloudWatch dashboard of the whole pipeline. It costs $3.00 a month (past an account's
   * three free ones, shared with everything else there), about a fifth of the idle bill, and
   * every alarm already carries its runbook, so it is opt-in.
   * @default false
   */
  dashboard: flag(false),
};

type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings;
type PropOf<S> = S extends Setting<infer P, unknown> ? P : never;
type ValueOf<S> = S extends Setting<unknown, infer V> ? V : never;

/** Every setting as an optional prop, typed; the props of `BillingGate`. */
export type SettingProps = { readonly [K in keyof typeof SETTINGS]?: PropOf<(typeof SETTINGS)[K]> };
/** Every setting's value, validated. */
export type SettingValues = {
  readonly [K in keyof typeof SETTINGS]: ValueOf<(typeof SETTINGS)[K]>;
};

/** The settings' keys, in declaration order. */
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** The context keys this app reads; `-c <key>=<value>` on the cdk command line. */
export const CONTEXT_KEYS = Object.fromEntries(SETTING_KEYS.map((k) => [k, k])) as {
  readonly [K in SettingKey]: K;
};

/** Each setting's value when its key is unset. */
export const CONFIG_DEFAULTS = Object.fromEntries(
  SETTING_KEYS.map((k) => [k, SETTINGS[k].default]),
) as SettingValues;

/** The whole configuration: every setting's value, and what the stage names. */
export interface BillingGateConfig extends SettingValues {
  /** `StripeBillingGate` for the default stage (what the operator commands look for), else `StripeBillingGate-<stage>`. */
  readonly stackName: string;
  /** Queue names are `<queuePrefix>-<typeSlug>` and `<queuePrefix>-<typeSlug>-dlq`. */
  readonly queuePrefix: string;
}

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
 * Loads and validates the whole configuration, setting by setting in SETTINGS order. Values
 * may be strings (`-c key=value`), JSON as cdk.json holds it, or typed props; empty strings
 * count as unset.
 */
export function loadConfig(
  read: ContextReader,
  options: LoadConfigOptions = {},
): BillingGateConfig {
  const problems: string[] = unknownKeyProblems(options.presentKeys ?? []);
  const values: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const spec = SETTINGS[key] as Setting<unknown, unknown>;
    values[key] = spec.parse(new Field(key, read(key), problems), values);
  }
  if (problems.length > 0) throw new ContextConfigError(problems);
  const settings = values as SettingValues;
  return {
    ...settings,
    stackName: stackNameFor(settings.stage),
    queuePrefix: `sbg-${settings.stage}`,
  };
}

/**
 * The props that state `config` (what a stack passes to its `BillingGate`): every setting,
 * none copied by hand, and `loadConfig` of them gives `config` back.
 */
export function propsOf(config: SettingValues): SettingProps {
  const props: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const spec = SETTINGS[key] as Setting<unknown, unknown>;
    const value = spec.toProp ? spec.toProp(config[key]) : config[key];
    if (value !== undefined) props[key] = value;
  }
  return props as SettingProps;
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

interface Range {
  readonly min: number;
  readonly max: number;
}

/** The raw value of one setting, with typed readers; each records a problem instead of throwing. */
export class Field {
  private failures = 0;

  constructor(
    readonly key: string,
    private readonly raw: unknown,
    private readonly problems: string[],
  ) {}

  /** A problem of this setting has been recorded. */
  get failed(): boolean {
    return this.failures > 0;
  }

  /** Records a problem (the message names the key). */
  problem(message: string): void {
    this.failures += 1;
    this.problems.push(message);
  }

  fail(expected: string, got: unknown): void {
    this.problem(`${this.key} must be ${expected}, got ${JSON.stringify(got)}`);
  }

  /** The value as given, a string trimmed; undefined when unset (absent, null or an empty string). */
  value(): unknown {
    const v = this.raw;
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
    return v;
  }

  /** A string, number or boolean, what `-c` and cdk.json hold for a plain setting. */
  private scalar(): string | number | boolean | undefined {
    const v = this.value();
    if (v === undefined) return undefined;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    this.problem(`${this.key} must be a string, number or boolean, got ${JSON.stringify(v)}`);
    return undefined;
  }

  pattern(re: RegExp, expected: string, fallback: string): string {
    const v = this.scalar();
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !re.test(v)) {
      this.fail(expected, v);
      return fallback;
    }
    return v;
  }

  oneOf<T extends string>(allowed: readonly T[], upperCase = false): T | undefined {
    const raw = this.scalar();
    if (raw === undefined) return undefined;
    const v = upperCase && typeof raw === 'string' ? raw.toUpperCase() : raw;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(`one of ${allowed.map((a) => `"${a}"`).join(', ')}`, raw);
      return undefined;
    }
    return v as T;
  }

  number(fallback: number, { min, max }: Range): number {
    const v = this.scalar();
    if (v === undefined) return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) {
      this.fail(`a number from ${min} to ${max}`, v);
      return fallback;
    }
    return n;
  }

  integer(fallback: number, { min, max }: Range): number {
    const v = this.scalar();
    if (v === undefined) return fallback;
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      this.fail(`a whole number from ${min} to ${max}`, v);
      return fallback;
    }
    return n;
  }

  boolean(fallback: boolean): boolean {
    const v = this.scalar();
    if (v === undefined) return fallback;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    this.fail('"true" or "false"', v);
    return fallback;
  }
}
