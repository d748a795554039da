// The idle monthly cost (section 8): what a deployment pays with no traffic at all, priced
// from its synthesized templates at list prices (prices.ts, no free tier): every alarm
// metric, dashboard, key, secret and Lambda-polled queue in them, and each schedule's runs
// with the custom metrics they publish. What a scheduled function writes and publishes is
// measured by running its handler factory, as function-runs.ts does for the others.

import type { Context } from 'aws-lambda';
import { makeLogger, makeMetrics, withLambdaContext } from '../../lambdas/observability';
import { makeSweeper, type SweeperDeps } from '../../lambdas/sweeper/make-sweeper';
import { capture, lambdaContext, withFunctionEnv } from './function-runs';
import {
  IDLE_RECEIVES_PER_QUEUE_MONTH,
  LOG_EVENT_OVERHEAD_BYTES,
  MINUTES_PER_MONTH,
  PRICES,
  lambdaDurationPerMillion,
  logsPerMillion,
} from './prices';
import type { SynthesizedTemplate, TemplateResource } from './synth-stack';
import { DEFAULT_GATE_SETTINGS } from '../../lambdas/settings';

/** What one run of a scheduled function costs beyond its invocation. */
export interface ScheduledRunProfile {
  /** Custom metrics (EMF) one run publishes: each is billed for every hour it appears in. */
  readonly customMetrics: readonly string[];
  /** Log bytes of one run (each line + 26 bytes). */
  readonly logBytes: number;
  /**
   * Billed milliseconds of one run. Not measured (the run here has no table behind it): an
   * idle sweep is two Queries of empty KEYS_ONLY indexes, a few milliseconds each in AWS;
   * 100 ms is an upper bound.
   */
  readonly billedMs: number;
  /** DynamoDB read units of one idle run: each Query costs at least 0.5 of a unit. */
  readonly readUnits: number;
}

export interface IdlePart {
  readonly part: string;
  readonly count: number;
  readonly dollars: number;
  /** How the figure is made up. */
  readonly basis: string;
}

export interface IdleCost {
  readonly parts: readonly IdlePart[];
  readonly total: number;
}

/**
 * Metrics Insights alarms are billed per metric their query analyzes, and a query analyzes
 * only metrics with data in its window: these metrics get data only with activity.
 */
const ACTIVITY_ONLY_METRICS: Record<string, string> = {
  InvocationsFailedToBeSentToDlq:
    'EventBridge publishes it only for a rule that failed to dead-letter an event',
  ApproximateAgeOfOldestMessage: 'SQS reports it only for a queue that holds a message',
};

type Json = Record<string, unknown>;

function ref(value: unknown): string | undefined {
  const v = value as Json | undefined;
  const getAtt = v?.['Fn::GetAtt'] as unknown[] | undefined;
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  if (typeof v?.Ref === 'string') return v.Ref;
  return undefined;
}

interface AlarmMetrics {
  standard: number;
  highResolution: number;
  /** The metric name of each Metrics Insights query the alarm runs. */
  insights: string[];
}

/** The metrics an alarm reads: one for a plain alarm, one per MetricStat of a math alarm. */
export function alarmMetrics(props: Json): AlarmMetrics {
  const out: AlarmMetrics = { standard: 0, highResolution: 0, insights: [] };
  const add = (period: unknown) => {
    if (typeof period === 'number' && period < 60) out.highResolution += 1;
    else out.standard += 1;
  };
  if (typeof props.MetricName === 'string') add(props.Period);
  for (const m of (props.Metrics as Json[] | undefined) ?? []) {
    const stat = m.MetricStat as Json | undefined;
    if (stat) add(stat.Period);
    const expression = typeof m.Expression === 'string' ? m.Expression : '';
    const select = /^\s*SELECT\s+\w+\(\s*"?([A-Za-z0-9_]+)"?\s*\)/i.exec(expression);
    if (select) out.insights.push(select[1]!);
  }
  return out;
}

/** The schedule's runs in a 30-day month, from `rate(N unit)`; null for other expressions. */
export function runsPerMonth(expression: string): number | null {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!rate) return null;
  const minutes = { minute: 1, hour: 60, day: 1440 }[rate[2]!.replace(/s$/, '')]!;
  return MINUTES_PER_MONTH / (Number(rate[1]) * minutes);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Prices the fixed monthly parts of the templates. `schedules` gives, per service name
 * (POWERTOOLS_SERVICE_NAME of the target function), what one run costs; a scheduled
 * function without a profile stops the pricing, so nothing is left out silently.
 */
export function idleCost(
  templates: readonly SynthesizedTemplate[],
  schedules: Readonly<Record<string, ScheduledRunProfile>>,
): IdleCost {
  const all: Record<string, TemplateResource> = Object.assign(
    {},
    ...templates.map((t) => t.resources),
  );
  const ofType = (type: string) => Object.entries(all).filter(([, r]) => r.Type === type);
  const parts: IdlePart[] = [];
  const push = (part: string, count: number, dollars: number, basis: string) => {
    if (count > 0) parts.push({ part, count, dollars, basis });
  };

  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => alarmMetrics(a.Properties ?? {}));
  const standard = alarms.reduce((s, a) => s + a.standard, 0);
  const highRes = alarms.reduce((s, a) => s + a.highResolution, 0);
  push(
    'alarm metrics, standard resolution',
    standard,
    standard * PRICES.alarmMetricStandard,
    `${plural(alarms.length, 'alarm')} reading ${standard} metrics, $${PRICES.alarmMetricStandard.toFixed(2)} each`,
  );
  push(
    'alarm metrics, high resolution',
    highRes,
    highRes * PRICES.alarmMetricHighResolution,
    `$${PRICES.alarmMetricHighResolution.toFixed(2)} each`,
  );
  const insights = alarms.flatMap((a) => a.insights);
  for (const metric of new Set(insights)) {
    const why = ACTIVITY_ONLY_METRICS[metric];
    if (!why) throw new Error(`no idle price for a Metrics Insights alarm on ${metric}`);
    push(
      `Metrics Insights alarms on ${metric}`,
      insights.filter((m) => m === metric).length,
      0,
      `$${PRICES.metricsInsightsAlarmPerMetric.toFixed(2)} per metric analyzed; none idle: ${why}`,
    );
  }

  const dashboards = ofType('AWS::CloudWatch::Dashboard').length;
  push(
    'dashboards',
    dashboards,
    dashboards * PRICES.dashboard,
    `$${PRICES.dashboard.toFixed(2)} each: the free three of an account hold up to 50 metrics each and are shared with everything else in it, so counted at list price`,
  );
  const keys = ofType('AWS::KMS::Key');
  push(
    'KMS keys',
    keys.length,
    keys.length * PRICES.kmsKey,
    `$${PRICES.kmsKey.toFixed(2)} each in the first year; ${keys.some(([, k]) => k.Properties?.EnableKeyRotation === true) ? 'a yearly rotating key adds as much at each of its first two rotations ($3.00 from the third year)' : 'no rotation'}`,
  );
  const secrets = ofType('AWS::SecretsManager::Secret').length;
  push('secrets', secrets, secrets * PRICES.secret, `$${PRICES.secret.toFixed(2)} each`);

  const polled = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) => {
    const source = ref(m.Properties?.EventSourceArn);
    return source !== undefined && all[source]?.Type === 'AWS::SQS::Queue';
  }).length;
  const perQueue = (IDLE_RECEIVES_PER_QUEUE_MONTH / 1e6) * PRICES.sqsRequestsPerMillion;
  push(
    'Lambda-polled SQS queues',
    polled,
    polled * perQueue,
    `${IDLE_RECEIVES_PER_QUEUE_MONTH.toLocaleString('en-US')} empty ReceiveMessage calls a month each (5 pollers, 20-second long polls): $${perQueue.toFixed(4)}`,
  );

  for (const [, rule] of ofType('AWS::Events::Rule')) {
    const expression = rule.Properties?.ScheduleExpression;
    if (typeof expression !== 'string') continue;
    const runs = runsPerMonth(expression);
    if (runs === null) throw new Error(`cannot count the runs of ${expression}`);
    for (const target of (rule.Properties?.Targets as Json[] | undefined) ?? []) {
      const fn = all[ref(target.Arn) ?? ''];
      const env = (fn?.Properties?.Environment as Json | undefined)?.Variables as Json | undefined;
      const service = String(env?.POWERTOOLS_SERVICE_NAME ?? '');
      const profile = schedules[service];
      if (!profile) throw new Error(`no run profile for the scheduled function "${service}"`);
      const invocations =
        (runs / 1e6) *
        (PRICES.lambdaRequestsPerMillion + lambdaDurationPerMillion(profile.billedMs));
      const logs = (runs / 1e6) * logsPerMillion(profile.logBytes);
      const reads = (runs / 1e6) * profile.readUnits * PRICES.dynamoReadPerMillion;
      push(
        `${service} runs, ${expression}`,
        runs,
        invocations + logs + reads,
        `${runs.toLocaleString('en-US')} invocations of at most ${profile.billedMs} ms, ${profile.logBytes} log bytes and ${profile.readUnits} read unit${profile.readUnits === 1 ? '' : 's'} each`,
      );
      push(
        `custom metrics of the ${service}`,
        profile.customMetrics.length,
        profile.customMetrics.length * PRICES.customMetric,
        `${profile.customMetrics.join(', ')}: published every run, so every hour, $${PRICES.customMetric.toFixed(2)} each`,
      );
    }
  }
  return { parts, total: parts.reduce((s, p) => s + p.dollars, 0) };
}

/** The custom metric names of the EMF lines among `lines`. */
export function emfMetricNames(lines: readonly string[]): string[] {
  const names = new Set<string>();
  for (const line of lines) {
    let parsed: Json;
    try {
      parsed = JSON.parse(line) as Json;
    } catch {
      continue;
    }
    const directives = ((parsed._aws as Json | undefined)?.CloudWatchMetrics ?? []) as Json[];
    for (const d of directives) {
      for (const m of (d.Metrics as Json[] | undefined) ?? []) names.add(String(m.Name));
    }
  }
  return [...names].sort();
}

/**
 * One idle run of the sweeper, as the stack runs it (application level INFO, metrics on):
 * nothing due, the settings item current, nothing parked, no status item behind the rules.
 */
export async function measureIdleSweep(): Promise<ScheduledRunProfile> {
  const settings = DEFAULT_GATE_SETTINGS;
  const store = {
    dueCustomers: () => Promise.resolve([]),
    readSettings: () =>
      Promise.resolve({
        policy: settings.policyDocument,
        expiryWarningDays: settings.expiryWarningDays,
        hash: settings.hash,
        settled: true,
      }),
    listParked: () => Promise.resolve([]),
    countStatusItemsBehind: () => Promise.resolve(0),
  } as unknown as SweeperDeps['store'];
  const sweep = withFunctionEnv('sweeper', () => {
    const logger = makeLogger('sweeper');
    return withLambdaContext(
      logger,
      makeSweeper({
        store,
        settings,
        stripe: null,
        clock: () => new Date(),
        logger,
        metrics: makeMetrics('sweeper'),
      }),
    );
  });
  const context: Context = lambdaContext('Sweeper');
  const { lines } = await capture(() => sweep(undefined, context));
  return {
    customMetrics: emfMetricNames(lines),
    logBytes: lines.reduce((s, l) => s + Buffer.byteLength(l) + LOG_EVENT_OVERHEAD_BYTES, 0),
    billedMs: 100,
    // The due index's Query and the settings item's GetItem, every run.
    readUnits: 2,
  };
}
