// The EventBridge envelope and rule evaluation (lambdas/eventbridge): the envelopes built
// from the Stripe fixtures have exactly the published envelope's fields and the `stripe`
// package unwraps them; rules match their type, mode and account-less events only, with
// EventBridge's semantics for null, absent fields, arrays and `$or`; `$.detail` is what a
// target receives; npm start's --ingress options and the banner each mode prints. Pure: no
// emulator.

import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { startupBanner } from '../../bin/local/banner';
import {
  DEFAULT_LOCAL_EVENTBRIDGE_SOURCE,
  localIngressConfig,
} from '../../bin/local/eventbridge-bus';
import { buildEvent } from '../../bin/events/stripe-events';
import { DEFAULTS } from '../../lambdas/config';
import { REGISTRY } from '../../lambdas/core/registry';
import {
  envelopeProblem,
  partnerSourceProblem,
  toEnvelope,
  type EventBridgeEnvelope,
} from '../../lambdas/eventbridge/envelope';
import {
  UnsupportedPatternError,
  deliveriesFor,
  inputPathValue,
  matchesPattern,
  stripeRulePattern,
  stripeRules,
  type EventPattern,
} from '../../lambdas/eventbridge/rules';

const SOURCE = 'aws.partner/stripe.com/ed_test_61Rc9ZIzCyVXIv5LR16Rc9WfUF9EoLgTRM8Gp72SOKAi';
const FIXTURE = JSON.parse(
  readFileSync(
    new URL('../../bin/events/fixtures/eventbridge/envelope.json', import.meta.url),
    'utf8',
  ),
) as EventBridgeEnvelope;

const envelopeOf = (type: string, options: Parameters<typeof buildEvent>[1] = {}) =>
  toEnvelope(buildEvent(type, options), { source: SOURCE, region: 'eu-west-1' });

describe('the envelope', () => {
  it("accepts Stripe's published EventBridge payload", () => {
    // Assess
    expect(envelopeProblem(FIXTURE)).toBeNull();
    expect(partnerSourceProblem(FIXTURE.source)).toBeNull();
  });

  it('wraps an event built from the fixtures in exactly the published fields, in order', () => {
    // Act
    const envelope = envelopeOf('invoice.payment_failed');

    // Assess
    expect(Object.keys(envelope)).toEqual(Object.keys(FIXTURE));
    expect(envelope).toMatchObject({
      version: '0',
      'detail-type': 'invoice.payment_failed',
      source: SOURCE,
      region: 'eu-west-1',
      resources: [`arn:aws:events:eu-west-1::event-source/${SOURCE}`],
    });
    expect(envelope.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(envelope.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(envelopeProblem(envelope)).toBeNull();
  });

  it('is unwrapped by the stripe package to the very event inside', () => {
    // Prepare
    const event = buildEvent('customer.subscription.updated');
    const envelope = toEnvelope(event, { source: SOURCE });

    // Act
    const unwrapped = new Stripe('sk_test_unused').webhooks.constructEventWithoutVerification(
      JSON.stringify(envelope),
    );

    // Assess
    expect(JSON.parse(JSON.stringify(unwrapped))).toEqual(event);
  });

  it.each([
    [[], /not a JSON object/],
    [{ ...FIXTURE, version: '1' }, /"version" must be "0"/],
    [{ ...FIXTURE, 'detail-type': undefined }, /"detail-type" must be a non-empty string/],
    [{ ...FIXTURE, resources: 'none' }, /"resources" must be an array/],
    [{ ...FIXTURE, detail: 'evt' }, /"detail" must be an object/],
    [
      { ...FIXTURE, detail: { ...FIXTURE.detail, object: 'v2.core.event' } },
      /"detail" is not a Stripe event/,
    ],
  ])('refuses a malformed envelope (%#)', (value, message) => {
    // Assess
    expect(envelopeProblem(value)).toMatch(message);
  });
});

describe('a rule', () => {
  const live = stripeRulePattern('invoice.paid', { source: SOURCE, stripeMode: 'live' });
  const either = stripeRulePattern('invoice.paid', { source: SOURCE, stripeMode: null });

  it('matches its type from its source', () => {
    // Assess
    expect(matchesPattern(either, envelopeOf('invoice.paid'))).toBe(true);
    expect(matchesPattern(either, envelopeOf('invoice.voided'))).toBe(false);
    expect(matchesPattern(either, { ...envelopeOf('invoice.paid'), source: `${SOURCE}x` })).toBe(
      false,
    );
  });

  it('matches the configured mode only', () => {
    // Assess
    expect(matchesPattern(live, envelopeOf('invoice.paid', { livemode: true }))).toBe(true);
    expect(matchesPattern(live, envelopeOf('invoice.paid', { livemode: false }))).toBe(false);
    expect(matchesPattern(either, envelopeOf('invoice.paid', { livemode: true }))).toBe(true);
    expect(matchesPattern(either, envelopeOf('invoice.paid', { livemode: false }))).toBe(true);
  });

  it('matches events without a Connect account, absent or null, and no others', () => {
    // Assess
    expect(matchesPattern(either, envelopeOf('invoice.paid'))).toBe(true);
    expect(matchesPattern(either, envelopeOf('invoice.paid', { account: null }))).toBe(true);
    expect(matchesPattern(either, envelopeOf('invoice.paid', { account: 'acct_1' }))).toBe(false);
    // The envelope's own `account` is the AWS account: it never decides.
    expect(matchesPattern(either, { ...envelopeOf('invoice.paid'), account: 'acct_1' })).toBe(true);
  });

  it('follows EventBridge on arrays, objects at leaves and exists', () => {
    // Prepare
    const pattern: EventPattern = { a: ['x'], detail: { b: [{ exists: false }] } };

    // Assess
    expect(matchesPattern(pattern, { a: ['y', 'x'], detail: {} })).toBe(true);
    expect(matchesPattern(pattern, { a: 'x', detail: { b: { nested: 1 } } })).toBe(true);
    expect(matchesPattern(pattern, { a: 'x', detail: { b: null } })).toBe(false);
    expect(matchesPattern(pattern, { a: 'x' })).toBe(true);
    expect(matchesPattern({ a: [null] }, {})).toBe(false);
    expect(matchesPattern({ a: [{ exists: true }] }, { a: 0 })).toBe(true);
  });

  it('refuses pattern constructs it does not implement, instead of guessing', () => {
    // Assess
    expect(() => matchesPattern({ a: [{ prefix: 'x' }] } as never, { a: 'x' })).toThrow(
      UnsupportedPatternError,
    );
    expect(() => matchesPattern({ $or: [{ a: ['x'] }] } as never, { a: 'x' })).toThrow(
      UnsupportedPatternError,
    );
    expect(() => inputPathValue({}, '$.detail[0]')).toThrow(UnsupportedPatternError);
  });
});

describe('the bus', () => {
  const rules = stripeRules(['invoice.paid', 'customer.deleted'], {
    source: SOURCE,
    stripeMode: 'test',
  });

  it('hands the matching rule $.detail, the Stripe event itself', () => {
    // Prepare
    const envelope = envelopeOf('customer.deleted');

    // Act
    const deliveries = deliveriesFor(envelope, rules);

    // Assess
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]!.eventType).toBe('customer.deleted');
    expect(JSON.parse(deliveries[0]!.body)).toEqual(envelope.detail);
  });

  it('delivers nothing for a type without a rule, another mode or a Connect account', () => {
    // Assess
    expect(deliveriesFor(envelopeOf('invoice.voided'), rules)).toEqual([]);
    expect(deliveriesFor(envelopeOf('invoice.paid', { livemode: true }), rules)).toEqual([]);
    expect(deliveriesFor(envelopeOf('invoice.paid', { account: 'acct_9' }), rules)).toEqual([]);
  });
});

describe('npm start ingress options', () => {
  it('defaults to the webhook and the local source', () => {
    // Assess
    expect(localIngressConfig([], {})).toEqual({
      mode: 'webhook',
      source: DEFAULT_LOCAL_EVENTBRIDGE_SOURCE,
    });
  });

  it('takes --ingress in both spellings, over INGRESS', () => {
    // Assess
    expect(localIngressConfig(['--ingress', 'both'], { INGRESS: 'webhook' }).mode).toBe('both');
    expect(localIngressConfig(['--ingress=eventbridge'], {}).mode).toBe('eventbridge');
    expect(localIngressConfig([], { INGRESS: 'eventbridge' }).mode).toBe('eventbridge');
  });

  it('takes the source from EVENTBRIDGE_SOURCE', () => {
    // Assess
    expect(localIngressConfig([], { EVENTBRIDGE_SOURCE: SOURCE }).source).toBe(SOURCE);
  });

  it.each([
    [['--ingress'], {}, /--ingress needs a value/],
    [['--verbose'], {}, /unknown argument "--verbose"/],
    [
      [],
      { INGRESS: 'kafka' },
      /INGRESS must be one of "webhook", "eventbridge", "both", got "kafka"/,
    ],
    [[], { EVENTBRIDGE_SOURCE: 'aws.partner/stripe.com/x' }, /EVENTBRIDGE_SOURCE must be/],
  ])('refuses %j %j naming the option', (argv, env, message) => {
    // Assess
    expect(() => localIngressConfig(argv, env)).toThrow(message);
  });
});

describe('the npm start banner per ingress', () => {
  const config = { port: 4321, secrets: [DEFAULTS.localWebhookSecret], secretFromEnv: false };
  const banner = (mode: 'webhook' | 'eventbridge' | 'both') =>
    startupBanner(config, REGISTRY.length, 3.2, { mode, source: DEFAULT_LOCAL_EVENTBRIDGE_SOURCE });

  it('prints no webhook, signing secret or Stripe CLI line with eventbridge alone', () => {
    // Act
    const text = banner('eventbridge');

    // Assess
    expect(text).toMatch(/ingress: +eventbridge \(POST \/webhook answers 404, as in AWS\)/);
    expect(text).toContain(
      `eventbridge: POST http://127.0.0.1:4321/eventbridge   one EventBridge event of ${DEFAULT_LOCAL_EVENTBRIDGE_SOURCE}`,
    );
    expect(text).toContain('npm run trigger -- invoice.payment_failed --eventbridge --local');
    expect(text).toContain('GET  http://127.0.0.1:4321/customers/<cus_...>/billing-status');
    expect(text).not.toContain('POST http://127.0.0.1:4321/webhook');
    expect(text).not.toContain('signing secret');
    expect(text).not.toContain(DEFAULTS.localWebhookSecret);
    expect(text).not.toContain('stripe listen');
  });

  it('prints both ways in with both', () => {
    // Act
    const text = banner('both');

    // Assess
    expect(text).toMatch(/ingress: +both \(webhooks and EventBridge events\)/);
    expect(text).toContain('POST http://127.0.0.1:4321/webhook');
    expect(text).toContain('stripe listen --forward-to localhost:4321/webhook');
    expect(text).toContain(DEFAULTS.localWebhookSecret);
    expect(text).toContain('eventbridge: POST http://127.0.0.1:4321/eventbridge');
    expect(text).toContain('--eventbridge --local');
  });

  it('prints exactly the webhook banner with the default ingress', () => {
    // Assess
    expect(banner('webhook')).toBe(startupBanner(config, REGISTRY.length, 3.2));
    expect(banner('webhook')).not.toMatch(/ingress|eventbridge/);
  });
});
