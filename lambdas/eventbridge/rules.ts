// The EventBridge rules of the Stripe partner event bus, as data: one rule per enabled event
// type, matching its `detail-type` and the filtering the verifier does on the webhook path
// (Stripe mode, no Connect account), whose target receives `$.detail`, the Stripe event as
// is. The CDK stack synthesizes exactly these patterns; the local bus evaluates them with
// `matchesPattern`, so both paths filter and extract the same way. Pure: no AWS SDK.

import type { StripeMode } from '../config';
import type { EventBridgeEnvelope } from './envelope';

/** A value of an event pattern: a list of matchers, a nested pattern, or `$or` alternatives. */
export type PatternMatcher = string | number | boolean | null | { exists: boolean };
export interface EventPattern {
  [field: string]: PatternMatcher[] | EventPattern | EventPattern[];
}

/** What each rule's target receives: the `detail` of the envelope, i.e. the Stripe event. */
export const STRIPE_EVENT_INPUT_PATH = '$.detail';

export interface StripeRuleOptions {
  /** The partner event source, `aws.partner/stripe.com/ed_...`. */
  source: string;
  /** Only events of this mode; null accepts both. */
  stripeMode: StripeMode | null;
}

/**
 * The pattern of the rule for one event type. Connect events carry the connected account's
 * id in `detail.account`; events of the account itself have it absent or null, and only
 * those are processed (an absent field never matches `null`, hence both alternatives).
 */
export function stripeRulePattern(eventType: string, options: StripeRuleOptions): EventPattern {
  return {
    source: [options.source],
    'detail-type': [eventType],
    detail: {
      ...(options.stripeMode === null ? {} : { livemode: [options.stripeMode === 'live'] }),
      $or: [{ account: [null] }, { account: [{ exists: false }] }],
    },
  };
}

export interface StripeRule {
  readonly eventType: string;
  readonly pattern: EventPattern;
}

/** One rule per enabled type, in the given order. */
export function stripeRules(
  enabledTypes: readonly string[],
  options: StripeRuleOptions,
): StripeRule[] {
  return enabledTypes.map((eventType) => ({
    eventType,
    pattern: stripeRulePattern(eventType, options),
  }));
}

/** A pattern construct this evaluator does not implement (it implements what rules use). */
export class UnsupportedPatternError extends Error {
  constructor(what: string) {
    super(`unsupported event pattern: ${what}`);
    this.name = 'UnsupportedPatternError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One matcher against one present value (arrays in the event match when any element does). */
function matchesValue(matcher: PatternMatcher, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((v) => matchesValue(matcher, v));
  if (matcher === null || typeof matcher !== 'object') return value === matcher;
  throw new UnsupportedPatternError(JSON.stringify(matcher));
}

/** A field's list of matchers: any one matching is enough, as in EventBridge. */
function matchesField(matchers: readonly PatternMatcher[], present: boolean, value: unknown) {
  return matchers.some((m) => {
    if (isObject(m)) {
      const keys = Object.keys(m);
      if (keys.length !== 1 || keys[0] !== 'exists' || typeof m.exists !== 'boolean') {
        throw new UnsupportedPatternError(JSON.stringify(m));
      }
      // Exists matching looks at leaves only: an object there counts as absent.
      const leaf = present && !isObject(value);
      return m.exists === leaf;
    }
    return present && matchesValue(m, value);
  });
}

/**
 * Whether `event` matches `pattern`, with EventBridge's semantics for what rules here use:
 * exact values (strings, numbers, booleans, null), `exists`, nested fields and `$or`.
 * Anything else throws, so a rule can never silently mean something else locally.
 */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  const fields = isObject(event) ? event : {};
  return Object.entries(pattern).every(([key, spec]) => {
    if (key === '$or') {
      if (!Array.isArray(spec) || spec.length < 2 || !spec.every(isObject)) {
        throw new UnsupportedPatternError('$or needs a list of at least two patterns');
      }
      return (spec as EventPattern[]).some((alternative) => matchesPattern(alternative, event));
    }
    const present = Object.prototype.hasOwnProperty.call(fields, key);
    const value = present ? fields[key] : undefined;
    if (Array.isArray(spec)) {
      if (spec.length === 0) throw new UnsupportedPatternError(`empty list for "${key}"`);
      return matchesField(spec as PatternMatcher[], present, value);
    }
    if (!isObject(spec)) throw new UnsupportedPatternError(`"${key}" is neither list nor object`);
    return matchesPattern(spec as EventPattern, isObject(value) ? value : {});
  });
}

/** The value a target with an input path receives (simple `$.a.b` paths). */
export function inputPathValue(event: unknown, path: string): unknown {
  if (!/^\$(\.[A-Za-z0-9_-]+)*$/.test(path))
    throw new UnsupportedPatternError(`input path ${path}`);
  let value: unknown = event;
  for (const segment of path.split('.').slice(1)) {
    value = isObject(value) ? value[segment] : undefined;
  }
  return value;
}

/** What a matching rule hands its target: the type's queue gets this body. */
export interface RuleDelivery {
  readonly eventType: string;
  /** The JSON text of `$.detail`, the Stripe event. */
  readonly body: string;
}

/** Every delivery the bus makes for one envelope: none when no rule matches. */
export function deliveriesFor(
  envelope: EventBridgeEnvelope,
  rules: readonly StripeRule[],
): RuleDelivery[] {
  return rules
    .filter((rule) => matchesPattern(rule.pattern, envelope))
    .map((rule) => ({
      eventType: rule.eventType,
      body: JSON.stringify(inputPathValue(envelope, STRIPE_EVENT_INPUT_PATH)),
    }));
}
