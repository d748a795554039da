// The pure parts of the Stripe-facing operator commands: --since, type chunks for the Events
// API, endpoint URL checks, stored webhook secrets, the shape of backfill events, and the ids
// and fields `npm run trigger` puts in the events it sends (to a fake webhook).
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { backfillType, syntheticEvent } from '../../bin/backfill';
import { parseSince, typeChunks } from '../../bin/reconcile';
import { checkEndpointUrl, storedSecrets } from '../../bin/register-endpoint';
import { command as triggerCommand } from '../../bin/trigger';
import { PINNED_API_VERSION, fixture } from '../../bin/events/stripe-events';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import {
  stripeEventProblem,
  type StripeEvent,
  type StripeObject,
} from '../../lambdas/core/stripe-event';

const NOW = new Date('2026-11-22T10:00:00Z');
const NOW_S = NOW.getTime() / 1000;

describe('reconcile --since', () => {
  it('reads a duration back from now', () => {
    expect([parseSince('90m', NOW), parseSince('6h', NOW), parseSince('3d', NOW)]).toEqual([
      NOW_S - 5400,
      NOW_S - 6 * 3600,
      NOW_S - 3 * 86_400,
    ]);
  });

  it('reads an ISO 8601 time', () => {
    expect(parseSince('2026-11-01T00:00:00Z', NOW)).toBe(Date.parse('2026-11-01T00:00:00Z') / 1000);
  });

  it('accepts exactly 30 days back', () => {
    expect(parseSince('30d', NOW)).toBe(NOW_S - 30 * 86_400);
  });

  it('rejects more than 30 days back, naming the Events API limit', () => {
    expect(() => parseSince('2026-10-01T00:00:00Z', NOW)).toThrow(
      /more than 30 days: Stripe's Events API only keeps 30 days/,
    );
  });

  it('rejects a time in the future', () => {
    expect(() => parseSince('2026-11-23T00:00:00Z', NOW)).toThrow(/is in the future/);
  });

  it('rejects something that is neither a time nor a duration', () => {
    expect(() => parseSince('yesterday', NOW)).toThrow(/must be an ISO 8601 time .* or a duration/);
  });
});

describe('Events API type chunks', () => {
  it('splits the handled types into requests of at most 20 types, in registry order', () => {
    const chunks = typeChunks(HANDLED_TYPES);

    const full = Math.floor(HANDLED_TYPES.length / 20);
    const rest = HANDLED_TYPES.length % 20;
    expect(chunks.map((c) => c.length)).toEqual([
      ...Array<number>(full).fill(20),
      ...(rest > 0 ? [rest] : []),
    ]);
    expect(chunks.flat()).toEqual([...HANDLED_TYPES]);
  });
});

describe('register-endpoint --url', () => {
  it('accepts https', () => {
    expect(checkEndpointUrl('https://x.example/webhook', false)).toBe('https://x.example/webhook');
  });

  it('accepts plain http on the loopback with --local only', () => {
    expect(checkEndpointUrl('http://127.0.0.1:3000/webhook', true)).toBe(
      'http://127.0.0.1:3000/webhook',
    );
    expect(() => checkEndpointUrl('http://127.0.0.1:3000/webhook', false)).toThrow(/--local/);
  });

  it('refuses plain http elsewhere, even with --local', () => {
    expect(() => checkEndpointUrl('http://x.example/webhook', true)).toThrow(/https URL/);
  });

  it('refuses credentials in the URL', () => {
    expect(() => checkEndpointUrl('https://u:p@x.example/webhook', false)).toThrow(/credentials/);
  });
});

describe('stored webhook secrets', () => {
  it('keeps the signing secrets of a comma-separated value and drops placeholders', () => {
    expect(storedSecrets(' whsec_a, placeholder ,whsec_b\n')).toEqual(['whsec_a', 'whsec_b']);
  });
});

describe('backfill events', () => {
  const invoice: StripeObject = { ...fixture('invoice'), status: 'uncollectible' };

  it('names the event after the object and the listing time, created at the listing time', () => {
    const event = syntheticEvent('invoice.marked_uncollectible', invoice, 1_790_000_000, false);

    expect(event).toMatchObject({
      id: `bf_${invoice.id as string}_1790000000`,
      object: 'event',
      type: 'invoice.marked_uncollectible',
      created: 1_790_000_000,
      api_version: PINNED_API_VERSION,
      data: { object: invoice },
    });
  });

  it('passes the processors envelope check for backfill ids', () => {
    const event = syntheticEvent('invoice.marked_uncollectible', invoice, 1_790_000_000, false);

    expect(stripeEventProblem(event, { allowBackfillIds: true })).toBeNull();
  });

  it('maps each listed kind to the event type of docs/behaviour.md#backfill', () => {
    expect([
      backfillType('invoices', { status: 'open' }),
      backfillType('invoices', { status: 'uncollectible' }),
      backfillType('subscriptions', {}),
      backfillType('disputes', {}),
      backfillType('payment_methods', {}),
      backfillType('card_sources', {}),
    ]).toEqual([
      'invoice.payment_failed',
      'invoice.marked_uncollectible',
      'customer.subscription.updated',
      'charge.dispute.created',
      'payment_method.attached',
      'customer.source.created',
    ]);
  });
});

describe('npm run trigger: the ids and fields of a scripted dunning run', () => {
  const SECRET = 'whsec_trigger_test';
  const URL = 'http://gate.test/webhook';

  /** Runs trigger against a fake webhook that answers 200; returns what was posted. */
  async function trigger(...argv: string[]) {
    const posted: { body: string; signature: string }[] = [];
    const err: string[] = [];
    const code = await triggerCommand.run([...argv, '--url', URL], {
      env: { STRIPE_WEBHOOK_SECRET: SECRET },
      out: () => {},
      err: (line) => err.push(line),
      fetch: (async (_url: string, init: RequestInit) => {
        const headers = init.headers as Record<string, string>;
        posted.push({ body: init.body as string, signature: headers['stripe-signature']! });
        return new Response('{"received":true}', { status: 200 });
      }) as typeof fetch,
    });
    const sent = posted[0];
    const event = sent
      ? (new Stripe('sk_test_x').webhooks.constructEvent(
          sent.body,
          sent.signature,
          SECRET,
        ) as unknown as StripeEvent)
      : undefined;
    return {
      code,
      event,
      object: event?.data.object as StripeObject | undefined,
      err: err.join('\n'),
    };
  }

  it('sends the invoice, attempt and retry it is given, signed for the webhook', async () => {
    // Act
    const sent = await trigger(
      'invoice.payment_failed',
      '--customer',
      'cus_dunning',
      '--invoice',
      'in_dunning1',
      '--attempt-count',
      '2',
      '--next-attempt',
      '2026-11-08T09:00:00Z',
      '--created',
      '2026-11-04T09:00:00Z',
    );

    // Assess
    expect(sent.code).toBe(0);
    expect(sent.event).toMatchObject({
      type: 'invoice.payment_failed',
      api_version: PINNED_API_VERSION,
      created: Date.parse('2026-11-04T09:00:00Z') / 1000,
    });
    expect(sent.object).toMatchObject({
      id: 'in_dunning1',
      customer: 'cus_dunning',
      attempt_count: 2,
      next_payment_attempt: Date.parse('2026-11-08T09:00:00Z') / 1000,
    });
    expect(sent.err).toContain('check with: npm run status -- cus_dunning');
  });

  it('says Stripe retries no more with --next-attempt none', async () => {
    // Act
    const sent = await trigger('invoice.payment_failed', '--next-attempt', 'none');

    // Assess
    expect(sent.object?.next_payment_attempt).toBeNull();
  });

  it('sends the pre-basil shape with --api-version 2024-06-20', async () => {
    // Act
    const sent = await trigger(
      'invoice.paid',
      '--api-version',
      '2024-06-20',
      '--payment-intent',
      'pi_dunning',
      '--subscription',
      'sub_dunning',
    );

    // Assess
    expect(sent.event?.api_version).toBe('2024-06-20');
    expect(sent.object).toMatchObject({
      paid: true,
      payment_intent: 'pi_dunning',
      subscription: 'sub_dunning',
    });
  });

  it('names only the customer account when --customer-account comes alone', async () => {
    // Act
    const alone = await trigger('customer.subscription.updated', '--customer-account', 'acct_1');
    const both = await trigger(
      'customer.subscription.updated',
      '--customer',
      'cus_1',
      '--customer-account',
      'acct_1',
      '--status',
      'past_due',
    );

    // Assess
    expect(alone.object).toMatchObject({ customer: null, customer_account: 'acct_1' });
    expect(alone.err).toContain('check with: npm run status -- acct_1');
    expect(both.object).toMatchObject({
      customer: 'cus_1',
      customer_account: 'acct_1',
      status: 'past_due',
    });
  });

  it('gives a marked_uncollectible invoice the reason it is given', async () => {
    // Act
    const sent = await trigger(
      'invoice.marked_uncollectible',
      '--uncollectible-reason',
      'subscription_paused',
    );

    // Assess
    expect(sent.object?.status_details).toEqual({
      uncollectible: { reason: 'subscription_paused' },
    });
  });

  it.each([
    [['invoice.paid', '--invoice', 'pi_1'], '--invoice must be an id starting with in_'],
    [['invoice.paid', '--invoice', 'in_1#x'], '--invoice must be an id starting with in_'],
    [
      ['charge.failed', '--payment-intent', 'in_1'],
      '--payment-intent must be an id starting with pi_',
    ],
    [
      ['customer.updated', '--subscription', 'sub_1'],
      '--subscription has no place in customer.updated',
    ],
    [['invoice.paid', '--dispute', 'dp_1'], '--dispute has no place in invoice.paid'],
    [
      ['invoice.paid', '--payment-method', 'tok_1'],
      '--payment-method must be an id starting with pm_',
    ],
    [
      ['invoice.paid', '--customer-account', 'cus_1'],
      '--customer-account must be an id starting with acct_',
    ],
    [
      ['invoice.paid', '--payment-intent', 'pi_1'],
      '--payment-intent has no place in invoice.paid at ' + PINNED_API_VERSION,
    ],
    [
      ['invoice.payment_failed', '--attempt-count', 'two'],
      '--attempt-count must be a whole number',
    ],
    [['charge.failed', '--attempt-count', '2'], '--attempt-count has no place in charge.failed'],
    [
      ['invoice.payment_failed', '--next-attempt', 'soon'],
      '--next-attempt must be an ISO 8601 time',
    ],
    [
      ['invoice.payment_failed', '--next-attempt', '2026-11-08'],
      '--next-attempt must be an ISO 8601 time',
    ],
    [['customer.subscription.updated', '--status', 'late'], '--status of a subscription at'],
    [['customer.updated', '--status', 'active'], '--status has no place in customer.updated'],
    [
      ['invoice.marked_uncollectible', '--uncollectible-reason', 'forgot'],
      '--uncollectible-reason must be',
    ],
    [
      ['invoice.payment_failed', '--uncollectible-reason', 'user_forgiven'],
      '--uncollectible-reason has no place',
    ],
    [
      [
        'invoice.marked_uncollectible',
        '--api-version',
        '2024-06-20',
        '--uncollectible-reason',
        'user_forgiven',
      ],
      'status_details came in 2026-09-30.endive',
    ],
    [
      ['invoice.paid', '--api-version', '2024-06-20', '--customer-account', 'acct_1'],
      '--customer-account has no place in invoice.paid at 2024-06-20',
    ],
    [['invoice.paid', '--api-version', '2025-03-31.basil'], '--api-version must be'],
    [['invoice.paid', '--created', 'yesterday'], '--created must be an ISO 8601 time'],
  ])('refuses %j with exit 2, naming the option', async (argv, message) => {
    // Act
    const sent = await trigger(...argv);

    // Assess
    expect(sent.code).toBe(2);
    expect(sent.err).toContain(message);
    expect(sent.event).toBeUndefined();
  });

  it('generates --help from the definition, every new option included', () => {
    // Act
    const help = triggerCommand.help();

    // Assess
    for (const option of Object.keys(triggerCommand.def.options)) {
      expect(help).toContain(`--${option}`);
    }
    expect(help).toContain('--next-attempt <iso|none>');
  });
});
