// `npm run backfill` against the fake Stripe API and the real emulators: the synthetic events
// it builds (docs/behaviour.md#backfill), its filters, its all-or-nothing listing, and that applying
// a second run's events through the real processor changes no derived status.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run, type BackfillPorts } from '../../bin/backfill';
import type { QueuePair } from '../../bin/local/provision';
import { PINNED_API_VERSION, buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import type { BillingStatus } from '../../lambdas/core/facts';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import type { StripeObject } from '../../lambdas/core/stripe-event';
import { makeStripeLookup } from '../../lambdas/adapters/stripe-api';
import { applyEvent } from '../../lambdas/processor/apply-event';
import {
  disputedCharge,
  invoiceObject,
  legacyCardObject,
  paymentMethodObject,
  subscriptionObject,
  type MalformedKind,
} from '../support/fake-stripe-api';
import { derivedStatus, freshQueues, freshTable, itemStatus } from '../support/local-stack';
import {
  capture,
  drainQueues,
  queueSenderFor,
  stripeHarness,
  type QueuedMessage,
  type StripeHarness,
} from '../support/stripe-commands';

const NOW = new Date('2026-11-22T10:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);

let sqs: SQSClient;
let queues: QueuePair[];
let store: FactStore;
let h: StripeHarness;

beforeAll(async () => {
  ({ store } = await freshTable());
  ({ sqs, queues } = await freshQueues(HANDLED_TYPES));
});

beforeEach(async () => {
  await drainQueues(sqs, queues);
  h = await stripeHarness();
});

afterEach(async () => {
  await h.fake.close();
});

const ports = (): BackfillPorts => ({
  enabledTypes: queues.map((q) => q.type),
  queue: queueSenderFor(sqs, queues),
  close: () => undefined,
});

const backfill = (argv: string[], out = capture(), now = NOW) =>
  run(argv, {
    ...out.io,
    env: h.env,
    now: () => now,
    stripe: h.stripe,
    connect: async () => ports(),
  });

const byId = (messages: QueuedMessage[]) => new Map(messages.map((m) => [m.event.id, m]));
const bf = (o: StripeObject, t = T) => `bf_${o.id as string}_${t}`;

/** One customer in trouble: every kind of object the backfill lists, plus some it skips. */
function seedCustomer(customer: string) {
  const f = h.fake;
  const failed = invoiceObject({ customer, status: 'open', attemptCount: 2 });
  const uncollectible = invoiceObject({ customer, status: 'uncollectible', attemptCount: 4 });
  const unattempted = invoiceObject({ customer, status: 'open', attemptCount: 0 });
  const paid = invoiceObject({ customer, status: 'paid' });
  const pastDue = subscriptionObject({ customer, status: 'past_due' });
  const paused = subscriptionObject({ customer, status: 'paused' });
  const canceled = subscriptionObject({ customer, status: 'canceled' });
  const open = disputedCharge({ customer, status: 'needs_response' });
  const won = disputedCharge({ customer, status: 'won' });
  const pm = paymentMethodObject({ customer });
  const card = legacyCardObject({ customer });
  f.invoices.push(failed, uncollectible, unattempted, paid);
  f.subscriptions.push(pastDue, paused, canceled);
  f.charges.push(open.charge, won.charge);
  f.disputes.push(open.dispute, won.dispute);
  f.paymentMethods.push(pm);
  f.sources.push(card);
  return { failed, uncollectible, pastDue, paused, dispute: open.dispute, pm, card };
}

describe('backfill', () => {
  it('queues one synthetic event per object in trouble, of the matching type', async () => {
    const s = seedCustomer(stripeId('cus'));

    const code = await backfill([]);

    const queued = await drainQueues(sqs, queues);
    expect(code).toBe(0);
    expect(Object.fromEntries(queued.map((m) => [m.event.id, m.event.type]))).toEqual({
      [bf(s.failed)]: 'invoice.payment_failed',
      [bf(s.uncollectible)]: 'invoice.marked_uncollectible',
      [bf(s.pastDue)]: 'customer.subscription.updated',
      [bf(s.paused)]: 'customer.subscription.updated',
      [bf(s.dispute)]: 'charge.dispute.created',
      [bf(s.pm)]: 'payment_method.attached',
      [bf(s.card)]: 'customer.source.created',
    });
  });

  it('gives every synthetic event the listing time, the pinned API version and the listed object', async () => {
    const s = seedCustomer(stripeId('cus'));

    await backfill([]);

    const event = byId(await drainQueues(sqs, queues)).get(bf(s.failed))!.event;
    expect(event).toMatchObject({
      object: 'event',
      created: T,
      livemode: false,
      api_version: PINNED_API_VERSION,
      data: { object: s.failed },
    });
  });

  it('takes livemode from the key for legacy cards, which carry none', async () => {
    const live = await stripeHarness({ apiKey: 'sk_live_fake_stripe_api_key' });
    const card = legacyCardObject({ customer: stripeId('cus') });
    live.fake.sources.push(card);
    live.fake.customers.add(card.customer as string);
    live.fake.invoices.push(
      invoiceObject({ customer: card.customer as string, status: 'open', livemode: true }),
    );

    await run([], {
      ...capture().io,
      env: live.env,
      now: () => NOW,
      stripe: live.stripe,
      connect: async () => ports(),
    });
    await live.fake.close();

    const queued = byId(await drainQueues(sqs, queues));
    expect(queued.get(bf(card))?.event.livemode).toBe(true);
    expect(queued.get(bf(card))?.attributes.livemode).toBe('true');
  });

  it('follows every page of a long listing', async () => {
    const customer = stripeId('cus');
    const invoices = Array.from({ length: 230 }, (_, i) =>
      invoiceObject({ customer, status: 'open', created: 1_700_000_000 + i }),
    );
    h.fake.invoices.push(...invoices);

    await backfill([]);

    const queued = await drainQueues(sqs, queues);
    expect(
      queued
        .filter((m) => m.type === 'invoice.payment_failed')
        .map((m) => m.event.id)
        .sort(),
    ).toEqual(invoices.map((o) => bf(o)).sort());
    expect(h.fake.requestsTo('/v1/invoices').length).toBeGreaterThanOrEqual(4);
  });

  it('limits itself to one customer with --customer', async () => {
    const mine = seedCustomer(stripeId('cus'));
    seedCustomer(stripeId('cus'));

    await backfill(['--customer', mine.failed.customer as string]);

    const ids = (await drainQueues(sqs, queues)).map((m) => m.event.id).sort();
    expect(ids).toEqual(
      [mine.failed, mine.uncollectible, mine.pastDue, mine.paused, mine.dispute, mine.pm, mine.card]
        .map((o) => bf(o))
        .sort(),
    );
  });

  it('passes --customer to the listings that can filter by customer', async () => {
    const customer = stripeId('cus');
    h.fake.customers.add(customer);

    await backfill(['--customer', customer]);

    const filtered = [
      ...h.fake.requestsTo('/v1/invoices'),
      ...h.fake.requestsTo('/v1/subscriptions'),
    ];
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.every((r) => r.query.customer === customer)).toBe(true);
  });

  it('queues nothing on a dry run and lists what it would apply', async () => {
    const s = seedCustomer(stripeId('cus'));
    const out = capture();

    const code = await backfill(['--dry-run'], out);

    expect(code).toBe(0);
    expect(await drainQueues(sqs, queues)).toEqual([]);
    expect(out.out).toContain(
      `would apply invoice.payment_failed ${s.failed.id as string} (customer ${s.failed.customer as string}) as ${bf(s.failed)}`,
    );
  });

  it('prints listed, selected and queued counts per object kind', async () => {
    seedCustomer(stripeId('cus'));
    const out = capture();

    await backfill([], out);

    expect(out.out).toContainEqual(expect.stringMatching(/^ +invoices +3 +2 +2$/));
    expect(out.out).toContainEqual(expect.stringMatching(/^ +disputes +2 +1 +1$/));
  });

  it('backs off on a 429 and then queues everything', async () => {
    const s = seedCustomer(stripeId('cus'));
    h.fake.rateLimitNext(2, { retryAfter: 1 });

    const code = await backfill([]);

    expect(code).toBe(0);
    expect(h.waits).toEqual([1000, 1000]);
    expect(byId(await drainQueues(sqs, queues)).has(bf(s.card))).toBe(true);
  });

  it.each<[MalformedKind, string]>([
    ['not-json', '/v1/disputes'],
    ['no-data', '/v1/subscriptions'],
    ['bad-item', '/v1/customers/'],
  ])('queues nothing when Stripe answers malformed (%s on %s)', async (kind, path) => {
    seedCustomer(stripeId('cus'));
    h.fake.malformNext(kind, path);
    const out = capture();

    const code = await backfill([], out);

    expect(code).toBe(1);
    expect(out.err).toContain('backfill: nothing was queued');
    expect(await drainQueues(sqs, queues)).toEqual([]);
  });

  it('applies the same card once when both listings show it', async () => {
    const customer = stripeId('cus');
    const card = legacyCardObject({ customer });
    const asMethod = paymentMethodObject({ customer });
    asMethod.id = card.id;
    h.fake.sources.push(card);
    h.fake.paymentMethods.push(asMethod);
    h.fake.customers.add(customer);

    await backfill(['--customer', customer]);

    expect((await drainQueues(sqs, queues)).map((m) => [m.event.id, m.type])).toEqual([
      [bf(card), 'payment_method.attached'],
    ]);
  });
});

describe('backfilled facts under the ordinary rules', () => {
  // As a processor configured with STRIPE_API_KEY: disputes find their customer in Stripe.
  const deps = () => ({
    store,
    stripe: makeStripeLookup(h.fake.apiKey, h.fake.url),
    clock: () => NOW,
  });

  async function applyAll(messages: QueuedMessage[]) {
    for (const m of messages) await applyEvent(JSON.stringify(m.event), m.type, deps());
  }

  async function statusOf(customer: string): Promise<BillingStatus> {
    const at = new Date((T + 7200) * 1000);
    const status = await itemStatus(store, customer, at);
    if (!status) throw new Error(`no status for ${customer}`);
    expect(status).toEqual(await derivedStatus(store, customer, at));
    return status;
  }

  const stateOf = ({ lastEventId: _l, updatedAt: _u, ...rest }: BillingStatus) => rest;

  it('a second run, an hour later, changes no derived status', async () => {
    const s = seedCustomer(stripeId('cus'));
    const customer = s.failed.customer as string;
    await backfill([]);
    await applyAll(await drainQueues(sqs, queues));
    const first = await statusOf(customer);

    await backfill([], capture(), new Date(NOW.getTime() + 3600_000));
    const second = await drainQueues(sqs, queues);
    await applyAll(second);

    expect(second.every((m) => m.event.id.endsWith(`_${T + 3600}`))).toBe(true);
    expect(first.blockers.map((b) => b.reason).sort()).toEqual([
      'dispute_open',
      'invoice_uncollectible',
      'payment_failed',
      'subscription_past_due',
      'subscription_paused',
    ]);
    expect(stateOf(await statusOf(customer))).toEqual(stateOf(first));
  });

  it('a real invoice.paid created before the listing lifts the backfilled blocker', async () => {
    const customer = stripeId('cus');
    const invoice = invoiceObject({ customer, status: 'open' });
    h.fake.invoices.push(invoice);
    await backfill([]);
    await applyAll(await drainQueues(sqs, queues));
    const blocked = await statusOf(customer);

    const paid = buildEvent('invoice.paid', {
      customer,
      created: T - 86_400,
      object: { id: invoice.id },
    });
    await applyEvent(JSON.stringify(paid), paid.type, deps());

    expect(blocked.blockers.map((b) => [b.reason, b.objectId, b.since, b.eventId])).toEqual([
      ['payment_failed', invoice.id, T, bf(invoice)],
    ]);
    expect((await statusOf(customer)).canAllocate).toBe(true);
  });

  it('a newer real subscription update overrides a backfilled past_due', async () => {
    const customer = stripeId('cus');
    const subscription = subscriptionObject({ customer, status: 'past_due' });
    h.fake.subscriptions.push(subscription);
    await backfill([]);
    await applyAll(await drainQueues(sqs, queues));
    const blocked = await statusOf(customer);

    const active = buildEvent('customer.subscription.updated', {
      customer,
      created: T + 60,
      object: { id: subscription.id, status: 'active' },
      previousAttributes: { status: 'past_due' },
    });
    await applyEvent(JSON.stringify(active), active.type, deps());

    expect(blocked.blockers.map((b) => b.reason)).toEqual(['subscription_past_due']);
    expect((await statusOf(customer)).blockers).toEqual([]);
  });
});
