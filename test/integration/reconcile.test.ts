// `npm run reconcile` against the fake Stripe API and the real emulators: it queues exactly
// the listed events the store never received, across pages and type chunks, and survives a
// 429.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run, type ReconcilePorts } from '../../bin/reconcile';
import type { QueuePair } from '../../bin/local/provision';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { ruleForType } from '../../lambdas/core/rules';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { freshQueues, freshTable } from '../support/local-stack';
import {
  capture,
  drainQueues,
  queueSenderFor,
  stripeHarness,
  type StripeHarness,
} from '../support/stripe-commands';

const NOW = new Date('2026-11-22T10:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

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

const ports = (): ReconcilePorts => ({
  enabledTypes: queues.map((q) => q.type),
  store,
  queue: queueSenderFor(sqs, queues),
  close: () => undefined,
});

const reconcile = (argv: string[], out = capture()) =>
  run(argv, {
    ...out.io,
    env: h.env,
    now: () => NOW,
    stripe: h.stripe,
    connect: async () => ports(),
  });

/** Seeds one event of each handled type but the customerless ones, an hour old. */
function seedEvents(customer: string, count: number): StripeEvent[] {
  const types = HANDLED_TYPES.filter((t) => !t.startsWith('charge.dispute.'));
  const events: StripeEvent[] = [];
  for (let i = 0; i < count; i++) {
    const type = types[i % types.length]!;
    events.push(buildEvent(type, { customer, created: NOW_S - 3600 + (i % 600) }));
  }
  h.fake.events.push(...events);
  return events;
}

/** Applies an event as a processor would (its customer is the event's own, or revealed). */
async function markApplied(event: StripeEvent) {
  await applyEvent(JSON.stringify(event), event.type, {
    store,
    stripe: null,
    clock: () => NOW,
  });
}

describe('reconcile', () => {
  it('queues exactly the events the store never applied, across several pages', async () => {
    const customer = stripeId('cus');
    const events = seedEvents(customer, 230);
    const applied = events.filter((_, i) => i % 3 === 0);
    for (const e of applied) await markApplied(e);

    const code = await reconcile(['--since', '6h']);

    const queued = await drainQueues(sqs, queues);
    const appliedIds = new Set(applied.map((e) => e.id));
    expect(code).toBe(0);
    expect(queued.map((m) => m.event.id).sort()).toEqual(
      events
        .filter((e) => !appliedIds.has(e.id))
        .map((e) => e.id)
        .sort(),
    );
  }, 120_000);

  it('puts each event on its own type queue with the verifier message attributes', async () => {
    const customer = stripeId('cus');
    const [event] = seedEvents(customer, 1);

    expect(await reconcile(['--since', '6h'])).toBe(0);

    const message = (await drainQueues(sqs, queues)).find((m) => m.event.id === event!.id);
    expect(message).toEqual({
      type: event!.type,
      event: JSON.parse(JSON.stringify(event)),
      attributes: { eventId: event!.id, eventType: event!.type, livemode: 'false' },
    });
  });

  it('prints found, already applied and queued counts, overall and per type', async () => {
    const customer = stripeId('cus');
    const events = seedEvents(customer, 3);
    await markApplied(events[0]!);
    const out = capture();

    await reconcile(['--since', '6h'], out);

    expect(out.out[0]).toMatch(/^found 3 events: 1 already applied, .* 2 queued$/);
    expect(out.out.find((l) => l.startsWith(events[0]!.type))).toMatch(/\s1\s+1\s+0\s+0\s+0$/);
  });

  it('asks the Events API for at most 20 types per request and covers every enabled type', async () => {
    seedEvents(stripeId('cus'), 5);

    await reconcile(['--since', '6h']);

    const lists = h.fake.requestsTo('/v1/events', 'GET');
    const typesAsked = lists.map((r) => r.query.types as string[]);
    expect(typesAsked.every((t) => t.length <= 20)).toBe(true);
    expect(new Set(typesAsked.flat())).toEqual(new Set(HANDLED_TYPES));
  });

  it('lists only events created since --since', async () => {
    await reconcile(['--since', '2026-11-22T04:00:00Z']);

    const [first] = h.fake.requestsTo('/v1/events', 'GET');
    expect(first!.query.created).toEqual({ gte: String(NOW_S - 6 * 3600) });
  });

  it('retries a 429 and then queues the same events', async () => {
    const customer = stripeId('cus');
    const events = seedEvents(customer, 4);
    h.fake.rateLimitNext(1);

    const code = await reconcile(['--since', '6h']);

    const queued = await drainQueues(sqs, queues);
    expect(code).toBe(0);
    expect(h.fake.requests[0]!.status).toBe(429);
    expect(queued.map((m) => m.event.id).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('queues nothing on a dry run and names what it would queue', async () => {
    const customer = stripeId('cus');
    const events = seedEvents(customer, 3);
    const out = capture();

    const code = await reconcile(['--since', '6h', '--dry-run'], out);

    expect(code).toBe(0);
    expect(await drainQueues(sqs, queues)).toEqual([]);
    expect(out.out.filter((l) => l.startsWith('would queue ')).sort()).toEqual(
      events.map((e) => `would queue ${e.id}`).sort(),
    );
  });

  it('counts a parked dispute as already received and does not queue it', async () => {
    const dispute = buildEvent('charge.dispute.created', {
      created: NOW_S - 60,
      object: { charge: stripeId('ch') },
    });
    h.fake.events.push(dispute);
    await store.park(
      {
        eventId: dispute.id,
        type: dispute.type,
        fact: ruleForType(dispute.type)!.toFact(dispute),
        keys: [dispute.data.object.charge as string],
        chargeId: dispute.data.object.charge as string,
      },
      Date.now(),
    );
    const out = capture();

    await reconcile(['--since', '1h'], out);

    expect(await drainQueues(sqs, queues)).toEqual([]);
    expect(out.out[0]).toMatch(/1 already received and parked/);
  });

  it('finds an applied dispute through the owner its charge revealed', async () => {
    const customer = stripeId('cus');
    const chargeId = stripeId('ch');
    const charge = buildEvent('charge.succeeded', {
      customer,
      created: NOW_S - 120,
      object: { id: chargeId },
    });
    await markApplied(charge);
    const dispute = buildEvent('charge.dispute.created', {
      created: NOW_S - 60,
      object: { charge: chargeId },
    });
    await markApplied(dispute);
    h.fake.events.push(dispute);
    const out = capture();

    await reconcile(['--since', '1h'], out);

    expect(await drainQueues(sqs, queues)).toEqual([]);
    expect(out.out[0]).toMatch(/1 already applied/);
  });

  it('asks Stripe for the charge of a dispute the store knows nothing about, and queues it', async () => {
    const customer = stripeId('cus');
    const charge = buildEvent('charge.succeeded', { customer }).data.object;
    charge.id = stripeId('ch');
    h.fake.charges.push(charge);
    const dispute = buildEvent('charge.dispute.created', {
      created: NOW_S - 60,
      object: { charge: charge.id },
    });
    h.fake.events.push(dispute);

    await reconcile(['--since', '1h']);

    expect((await drainQueues(sqs, queues)).map((m) => m.event.id)).toEqual([dispute.id]);
    expect(h.fake.requestsTo(`/v1/charges/${charge.id as string}`)).toHaveLength(1);
  });

  it('fails with a non-zero exit and a clear message when Stripe refuses the key', async () => {
    const out = capture();
    const code = await run(['--since', '6h'], {
      ...out.io,
      env: { ...h.env, STRIPE_API_KEY: 'sk_test_not_the_right_key' },
      now: () => NOW,
      connect: async () => ports(),
    });

    expect(code).toBe(1);
    expect(out.err.at(-1)).toMatch(
      /^reconcile failed: StripeAuthenticationError: HTTP 401: Invalid API Key/,
    );
  });

  it('rejects a --since more than 30 days back before calling Stripe', async () => {
    const out = capture();

    const code = await reconcile(['--since', '31d'], out);

    expect(code).toBe(2);
    expect(out.err.join('\n')).toMatch(/more than 30 days/);
    expect(h.fake.requests).toEqual([]);
  });
});
