// Subscriptions and customers at their edges: the status order at same-second ties, terminal and
// blocking statuses, what .created and .deleted mean, customer deletion, and what each rule reads
// and reveals. The core is loaded anew inside each test, so its tables are built while it runs.
import { describe, expect, it, vi } from 'vitest';
import { buildEvent } from '../../../bin/events/stripe-events';
import type { SubscriptionEntry, ViewContext } from '../../../lambdas/core/entries';
import { CUSTOMER } from '../../support/derive';

const NOW = 1_700_000_000;
const CHARACTER = 'an id holds a character other than letters, digits, "_" and "-"';

/**
 * The core's modules loaded anew inside the calling test, so that their module-level tables
 * and rules are built while that test runs (the top-level imports were built before it).
 */
async function fresh() {
  vi.resetModules();
  const rules = await import('../../../lambdas/core/rules');
  const subscription = await import('../../../lambdas/core/rules/subscription');
  const customer = await import('../../../lambdas/core/rules/customer');
  const derive = await import('../../support/derive');
  return { rules, subscription, customer, derive };
}

const sub = (
  type: string,
  created: number,
  status: string,
  previous: string | null = null,
  evt?: string,
) =>
  buildEvent(type, {
    created,
    object: { id: 'sub_1', status },
    ...(previous ? { previousAttributes: { status: previous } } : {}),
    ...(evt ? { id: evt } : {}),
  });

const blocker = (reason: string, since: number, eventId: string) => ({
  reason,
  objectId: 'sub_1',
  since,
  eventId,
});

describe('subscription status order at the same second, neither event naming the other', () => {
  it('lets paused win over active, whatever the ids, and blocks subscription_paused', async () => {
    const { statusOf } = (await fresh()).derive;
    const s = statusOf([
      sub('customer.subscription.updated', 200, 'paused', null, 'evt_1'),
      sub('customer.subscription.updated', 200, 'active', null, 'evt_2'),
    ]);
    expect(s.blockers).toEqual([blocker('subscription_paused', 200, 'evt_1')]);
    expect(s.canAllocate).toBe(false);
  });

  it('lets past_due win over paused and blocks subscription_past_due', async () => {
    const { statusOf } = (await fresh()).derive;
    const s = statusOf([
      sub('customer.subscription.updated', 200, 'past_due', null, 'evt_1'),
      sub('customer.subscription.updated', 200, 'paused', null, 'evt_2'),
    ]);
    expect(s.blockers).toEqual([blocker('subscription_past_due', 200, 'evt_1')]);
  });

  it('lets unpaid win over past_due and blocks subscription_unpaid', async () => {
    const { statusOf } = (await fresh()).derive;
    const s = statusOf([
      sub('customer.subscription.updated', 200, 'unpaid', null, 'evt_1'),
      sub('customer.subscription.updated', 200, 'past_due', null, 'evt_2'),
    ]);
    expect(s.blockers).toEqual([blocker('subscription_unpaid', 200, 'evt_1')]);
  });

  it('ranks an empty status below past_due', async () => {
    const { statusOf } = (await fresh()).derive;
    const s = statusOf([
      sub('customer.subscription.updated', 200, '', null, 'evt_2'),
      sub('customer.subscription.updated', 200, 'past_due', null, 'evt_1'),
    ]);
    expect(s.blockers).toEqual([blocker('subscription_past_due', 200, 'evt_1')]);
  });

  // Three events of one second: the `status` event names paused as its previous status, so it
  // comes after the paused one; against the unknown status, which names nothing, the status
  // order puts it after too, whatever the ids. It is the newest, and it does not block.
  it.each(['incomplete', 'trialing', 'active'])(
    'ranks %s above a status outside the order, so it beats every tie here',
    async (status) => {
      const { statusOf } = (await fresh()).derive;
      const s = statusOf([
        sub('customer.subscription.updated', 200, status, 'paused', 'evt_1'),
        sub('customer.subscription.updated', 200, 'paused', null, 'evt_2'),
        sub('customer.subscription.updated', 200, 'not_a_stripe_status', null, 'evt_3'),
      ]);
      expect(s.blockers).toEqual([]);
      expect(s.canAllocate).toBe(true);
    },
  );
});

describe('subscription statuses that end or block', () => {
  it.each(['canceled', 'incomplete_expired'])(
    'keeps %s once seen, against a newer past_due',
    async (terminal) => {
      const { statusOf } = (await fresh()).derive;
      const s = statusOf([
        sub('customer.subscription.updated', 100, terminal, 'active', 'evt_1'),
        sub('customer.subscription.updated', 200, 'past_due', 'active', 'evt_2'),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it('reads a later .deleted without a status as canceled, ending a past_due block', async () => {
    const { statusOf } = (await fresh()).derive;
    const deleted = buildEvent('customer.subscription.deleted', {
      created: 200,
      object: { id: 'sub_1' },
    });
    delete deleted.data.object.status;
    const s = statusOf([sub('customer.subscription.updated', 100, 'past_due', 'active'), deleted]);
    expect(s.blockers).toEqual([]);
  });

  it('dates the block from a .created event in the status, not an earlier event that never entered it', async () => {
    const { statusOf } = (await fresh()).derive;
    const s = statusOf([
      sub('customer.subscription.updated', 100, 'past_due', null, 'evt_u'),
      sub('customer.subscription.created', 200, 'past_due', null, 'evt_c'),
    ]);
    expect(s.blockers).toEqual([blocker('subscription_past_due', 200, 'evt_c')]);
  });

  it('yields one condition per blocking subscription and no moment when it changes by itself', async () => {
    const { subscriptionView } = (await fresh()).subscription;
    const entries: [string, SubscriptionEntry][] = [
      [
        'sub_1',
        {
          kind: 'subscription',
          reason: 'subscription_unpaid',
          since: { created: 100, eventId: 'evt_1' },
        },
      ],
      [
        'sub_2',
        {
          kind: 'subscription',
          reason: 'subscription_paused',
          since: { created: 150, eventId: 'evt_2' },
        },
      ],
    ];
    const ctx: ViewContext = {
      customerId: CUSTOMER,
      latestSuccess: null,
      now: NOW,
      warningWindow: 30 * 86_400,
    };
    expect(subscriptionView.conditions(entries, ctx)).toEqual({
      conditions: [
        { reason: 'subscription_unpaid', objectId: 'sub_1', since: 100, eventId: 'evt_1' },
        { reason: 'subscription_paused', objectId: 'sub_2', since: 150, eventId: 'evt_2' },
      ],
      paymentMethods: [],
      changesAt: [],
    });
  });
});

describe('customer events', () => {
  it('blocks customer_deleted on customer.deleted, and not on its other events', async () => {
    const { statusOf } = (await fresh()).derive;
    const deleted = statusOf([
      buildEvent('customer.deleted', { customer: CUSTOMER, created: 100, id: 'evt_d' }),
    ]);
    expect(deleted.blockers).toEqual([
      { reason: 'customer_deleted', objectId: CUSTOMER, since: 100, eventId: 'evt_d' },
    ]);
    const alive = statusOf([
      buildEvent('customer.created', { customer: CUSTOMER, created: 100 }),
      buildEvent('customer.updated', { customer: CUSTOMER, created: 200 }),
    ]);
    expect(alive.blockers).toEqual([]);
  });

  it('makes a customer event a fact of the customer, whose deletion alone is an effect', async () => {
    const { ruleForType } = (await fresh()).rules;
    const event = buildEvent('customer.deleted', { customer: CUSTOMER, created: 100, id: 'evt_d' });
    const rule = ruleForType('customer.deleted')!;
    const fact = rule.toFact(event);
    expect(fact).toMatchObject({
      eventId: 'evt_d',
      type: 'customer.deleted',
      created: 100,
      objectId: CUSTOMER,
    });
    expect(rule.customerEffect(fact)).toEqual({ deleted: true });
    const updated = rule.toFact(buildEvent('customer.updated', { customer: CUSTOMER }));
    expect(rule.customerEffect(updated)).toEqual({ deleted: false });
  });
});

describe('what the subscription and customer rules are and read', () => {
  it('names its kind, and folds subscriptions (not customers) into entries', async () => {
    const { ruleForType, entryKindOf, refoldsEntry } = (await fresh()).rules;
    expect(ruleForType('customer.subscription.updated')!.kind).toBe('subscription');
    expect(ruleForType('customer.deleted')!.kind).toBe('customer');
    expect(entryKindOf({ type: 'customer.subscription.updated' })).toBe('subscription');
    expect(entryKindOf({ type: 'customer.updated' })).toBeNull();
    const rule = ruleForType('customer.subscription.updated')!;
    expect(refoldsEntry(rule.toFact(sub('customer.subscription.updated', 100, 'active')))).toBe(
      true,
    );
  });

  it('ties no other object to the customer', async () => {
    const { ruleForType } = (await fresh()).rules;
    for (const event of [
      sub('customer.subscription.updated', 100, 'past_due', 'active'),
      buildEvent('customer.updated', { customer: CUSTOMER }),
    ]) {
      expect(ruleForType(event.type)!.revealKeys(event), event.type).toEqual([]);
    }
  });

  it('refuses at the door a subscription or customer whose ids hold other characters', async () => {
    const { eventProblem } = (await fresh()).rules;
    const subscription = (object: Record<string, unknown>) =>
      buildEvent('customer.subscription.updated', { created: NOW, object });
    expect(eventProblem(subscription({ id: 'sub_1' }), NOW)).toBeNull();
    expect(eventProblem(subscription({ id: 'sub_a.b' }), NOW)).toBe(CHARACTER);
    expect(eventProblem(subscription({ customer: 'cus_a.b' }), NOW)).toBe(CHARACTER);
    const customer = (object: Record<string, unknown>) =>
      buildEvent('customer.updated', { created: NOW, customer: CUSTOMER, object });
    expect(eventProblem(customer({}), NOW)).toBeNull();
    expect(eventProblem(customer({ id: 'cus_a.b' }), NOW)).toBe(CHARACTER);
    expect(eventProblem(customer({ customer_account: 'acct_a.b' }), NOW)).toBe(CHARACTER);
  });
});
