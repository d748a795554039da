// Subscriptions: their status and blockers, when a blocking status was entered, events
// without a status, and same-second ties of two and of three events with the status order
// they fall back to (docs/behaviour.md#rules).
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../bin/events/stripe-events';
import type { StripeEvent } from '../../../lambdas/core/stripe-event';
import { reasons, statusOf } from '../../support/derive';

/** A subscription event of sub_1; `previous` is `previous_attributes.status`. */
const sub = (
  type: string,
  created: number,
  status: string | undefined,
  previous: string | null = null,
  evt?: string,
) =>
  buildEvent(type, {
    created,
    object: { id: 'sub_1', status },
    ...(previous ? { previousAttributes: { status: previous } } : {}),
    ...(evt ? { id: evt } : {}),
  });
const updated = (
  created: number,
  status: string | undefined,
  previous: string | null,
  id: string,
) => sub('customer.subscription.updated', created, status, previous, id);

/** The subscription status each input order gives, as the blocker it yields (or none). */
function subscriptionOutcomes(events: StripeEvent[]): string[] {
  const orders = [events, [...events].reverse(), [...events.slice(1), events[0]!]];
  return orders.map((order) => reasons(statusOf(order)).join(',') || 'none');
}

describe('subscription rules', () => {
  it('blocks subscription_past_due while past_due, since the event that entered it', () => {
    const s = statusOf([
      sub('customer.subscription.created', 100, 'active'),
      sub('customer.subscription.updated', 200, 'past_due', 'active', 'evt_pd'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 200, eventId: 'evt_pd' },
    ]);
  });

  it('moves from subscription_past_due to subscription_unpaid when it turns unpaid', () => {
    const s = statusOf([
      sub('customer.subscription.created', 100, 'active'),
      sub('customer.subscription.updated', 200, 'past_due', 'active', 'evt_pd'),
      sub('customer.subscription.updated', 300, 'unpaid', 'past_due', 'evt_up'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_unpaid', objectId: 'sub_1', since: 300, eventId: 'evt_up' },
    ]);
  });

  it('blocks subscription_unpaid while unpaid and subscription_paused while paused', () => {
    expect(
      statusOf([sub('customer.subscription.updated', 200, 'unpaid', 'past_due')]).blockers[0]
        ?.reason,
    ).toBe('subscription_unpaid');
    expect(
      statusOf([sub('customer.subscription.updated', 200, 'paused', 'active')]).blockers[0]?.reason,
    ).toBe('subscription_paused');
  });

  it('follows the newest event: active again after past_due lifts the block', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 300, 'active', 'past_due'),
      sub('customer.subscription.updated', 200, 'past_due', 'active'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('treats canceled as terminal even against a newer event', () => {
    const s = statusOf([
      sub('customer.subscription.deleted', 200, 'canceled', 'past_due'),
      sub('customer.subscription.updated', 300, 'past_due', 'active'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('at equal created, puts the event naming the other status as previous after it', () => {
    // past_due -> active at the same second: the active event names past_due as previous.
    const s = statusOf([
      sub('customer.subscription.updated', 200, 'past_due', 'active', 'evt_z'),
      sub('customer.subscription.updated', 200, 'active', 'past_due', 'evt_a'),
    ]);
    // Both name each other: the status order decides, past_due > active.
    expect(s.blockers.map((b) => b.reason)).toEqual(['subscription_past_due']);
    const one = statusOf([
      sub('customer.subscription.updated', 200, 'past_due', null, 'evt_z'),
      sub('customer.subscription.updated', 200, 'active', 'past_due', 'evt_a'),
    ]);
    expect(one.blockers).toEqual([]);
  });

  it('at equal created with no relation, lets the greater status win, then the greater id', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 200, 'active', null, 'evt_b'),
      sub('customer.subscription.updated', 200, 'unpaid', null, 'evt_a'),
    ]);
    expect(s.blockers.map((b) => b.reason)).toEqual(['subscription_unpaid']);
  });

  it('dates the blocker from the earliest event with that status when none entered it', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 300, 'past_due', null, 'evt_2'),
      sub('customer.subscription.updated', 250, 'past_due', null, 'evt_1'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 250, eventId: 'evt_1' },
    ]);
  });

  it('dates from the newest entering event when the status was entered twice', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 100, 'past_due', 'active', 'evt_1'),
      sub('customer.subscription.updated', 200, 'active', 'past_due', 'evt_2'),
      sub('customer.subscription.updated', 300, 'past_due', 'active', 'evt_3'),
    ]);
    expect(s.blockers[0]).toMatchObject({ since: 300, eventId: 'evt_3' });
  });
});

describe('subscription rules, details', () => {
  it('treats incomplete_expired as terminal even against a newer event', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 200, 'incomplete_expired', 'incomplete'),
      sub('customer.subscription.updated', 300, 'unpaid', 'past_due'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('treats a .deleted event without a status as canceled', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 100, 'past_due', 'active'),
      buildEvent('customer.subscription.deleted', {
        created: 50,
        object: { id: 'sub_1', status: undefined },
      }),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('dates the blocker from a .created event that entered the status', () => {
    const s = statusOf([
      sub('customer.subscription.created', 100, 'past_due', null, 'evt_c'),
      sub('customer.subscription.updated', 200, 'past_due', null, 'evt_u'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 100, eventId: 'evt_c' },
    ]);
  });

  it('dates subscription_paused from the event that paused it', () => {
    const s = statusOf([
      sub('customer.subscription.created', 100, 'active'),
      sub('customer.subscription.updated', 200, 'paused', 'active', 'evt_p'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_paused', objectId: 'sub_1', since: 200, eventId: 'evt_p' },
    ]);
  });

  it('lifts the block when a newer event moves it to trialing', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 100, 'past_due', 'active'),
      sub('customer.subscription.updated', 200, 'trialing', 'past_due'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('lets the event that names the other as previous win even over a greater status', () => {
    // unpaid -> active at the same second: active names unpaid, unpaid names nothing.
    const s = statusOf([
      sub('customer.subscription.updated', 200, 'unpaid', null, 'evt_z'),
      sub('customer.subscription.updated', 200, 'active', 'unpaid', 'evt_a'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('breaks a cycle of previous statuses by the status order, in any input order', () => {
    // active names past_due, past_due names unpaid, unpaid names active: no event comes
    // after both others, so the greatest status (unpaid) decides.
    const events = [
      sub('customer.subscription.updated', 200, 'active', 'past_due', 'evt_1'),
      sub('customer.subscription.updated', 200, 'past_due', 'unpaid', 'evt_2'),
      sub('customer.subscription.updated', 200, 'unpaid', 'active', 'evt_3'),
    ];
    const orders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
    ].map((order) => statusOf(order.map((i) => events[i]!)).blockers);
    expect(orders).toEqual([
      [{ reason: 'subscription_unpaid', objectId: 'sub_1', since: 200, eventId: 'evt_3' }],
      [{ reason: 'subscription_unpaid', objectId: 'sub_1', since: 200, eventId: 'evt_3' }],
      [{ reason: 'subscription_unpaid', objectId: 'sub_1', since: 200, eventId: 'evt_3' }],
    ]);
  });

  it('keeps each subscription apart', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 100, 'past_due', 'active'),
      buildEvent('customer.subscription.updated', {
        created: 100,
        object: { id: 'sub_2', status: 'paused' },
        previousAttributes: { status: 'active' },
      }),
    ]);
    expect(s.blockers.map((b) => `${b.reason}:${b.objectId}`)).toEqual([
      'subscription_past_due:sub_1',
      'subscription_paused:sub_2',
    ]);
  });
});

describe('subscription ties at the same second, without previous statuses', () => {
  // The status order: incomplete < trialing < active < paused < past_due < unpaid; the
  // greater status wins even when the lesser one has the greater event id.
  it.each([
    ['paused', 'active', 'subscription_paused:sub_1'],
    ['paused', 'trialing', 'subscription_paused:sub_1'],
    ['paused', 'incomplete', 'subscription_paused:sub_1'],
    ['past_due', 'paused', 'subscription_past_due:sub_1'],
    ['unpaid', 'paused', 'subscription_unpaid:sub_1'],
    ['past_due', 'active', 'subscription_past_due:sub_1'],
    ['unpaid', 'active', 'subscription_unpaid:sub_1'],
    ['unpaid', 'trialing', 'subscription_unpaid:sub_1'],
    ['past_due', 'incomplete', 'subscription_past_due:sub_1'],
    ['unpaid', 'past_due', 'subscription_unpaid:sub_1'],
  ])('lets %s win over %s, whatever the ids', (greater, lesser, blocker) => {
    for (const [greaterId, lesserId] of [
      ['evt_1', 'evt_2'],
      ['evt_2', 'evt_1'],
    ]) {
      const s = statusOf([
        updated(500, lesser, null, lesserId!),
        updated(500, greater, null, greaterId!),
      ]);
      expect(reasons(s)).toEqual([blocker]);
    }
  });

  it('lets a blocking status lose to a later-named one only through previous_attributes', () => {
    // active names paused as its previous status: active comes after, although paused ranks higher.
    const s = statusOf([
      updated(500, 'paused', null, 'evt_2'),
      updated(500, 'active', 'paused', 'evt_1'),
    ]);
    expect(s.blockers).toEqual([]);
  });
});

describe('subscription events without a status', () => {
  it.each([
    ['past_due', 'subscription_past_due'],
    ['unpaid', 'subscription_unpaid'],
  ])('keeps %s blocking (%s) when a newer update carries no status', (status, reason) => {
    const events = [
      updated(100, status, 'active', 'evt_pd'),
      updated(200, undefined, null, 'evt_nostatus'),
    ];
    for (const order of [events, [...events].reverse()]) {
      expect(statusOf(order).blockers).toEqual([
        { reason, objectId: 'sub_1', since: 100, eventId: 'evt_pd' },
      ]);
    }
  });

  it('keeps subscription_paused when a same-second update carries no status', () => {
    const s = statusOf([
      updated(100, 'paused', 'active', 'evt_1'),
      updated(100, undefined, 'paused', 'evt_2'),
    ]);
    expect(reasons(s)).toEqual(['subscription_paused:sub_1']);
  });
});

describe('three subscription events in the same second', () => {
  it('lets the event that names both others as previous win, whatever its rank', () => {
    // Two past_due events, then active naming past_due: active comes after each of them.
    const events = [
      updated(500, 'past_due', 'trialing', 'evt_2'),
      updated(500, 'active', 'past_due', 'evt_0'),
      updated(500, 'past_due', null, 'evt_1'),
    ];
    expect(subscriptionOutcomes(events)).toEqual(['none', 'none', 'none']);
  });

  it('falls back to the status order when one naming and two ranks make a cycle', () => {
    // trialing names unpaid (after it), unpaid ranks above past_due, past_due above
    // trialing: no event comes after both others, so the greatest status, unpaid, decides.
    const events = [
      updated(500, 'past_due', null, 'evt_1'),
      updated(500, 'unpaid', null, 'evt_2'),
      updated(500, 'trialing', 'unpaid', 'evt_0'),
    ];
    expect(subscriptionOutcomes(events)).toEqual([
      'subscription_unpaid:sub_1',
      'subscription_unpaid:sub_1',
      'subscription_unpaid:sub_1',
    ]);
  });

  it('lets the event that comes after both others win: one by naming, one by rank', () => {
    // active names past_due (so comes after it) and ranks above trialing: active wins and
    // nothing blocks, although past_due also ranks above trialing.
    const events = [
      updated(500, 'active', 'past_due', 'evt_1'),
      updated(500, 'past_due', null, 'evt_2'),
      updated(500, 'trialing', null, 'evt_3'),
    ];
    expect(subscriptionOutcomes(events)).toEqual(['none', 'none', 'none']);
  });
});

describe('the status order, seen through three events of the same second', () => {
  // With two events the pairwise rule always picks one; with three it can go round in a
  // circle, and then the greatest status wins. Each case below has one event that comes
  // after both others only because of the rank or id it is testing.
  it('ranks trialing above incomplete', () => {
    // trialing names paused (after it) and outranks incomplete: trialing wins, nothing blocks.
    const events = [
      updated(500, 'incomplete', null, 'evt_1'),
      updated(500, 'trialing', 'paused', 'evt_2'),
      updated(500, 'paused', null, 'evt_3'),
    ];
    expect(subscriptionOutcomes(events)).toEqual(['none', 'none', 'none']);
  });

  it.each(['foo', ''])('ranks a status unknown to the order (%j) below incomplete', (unknown) => {
    // The unknown status names paused (after it) but ranks below incomplete, which ranks
    // below paused: a circle, so the greatest status, paused, decides.
    const events = [
      updated(500, 'incomplete', null, 'evt_1'),
      updated(500, 'paused', null, 'evt_2'),
      updated(500, unknown, 'paused', 'evt_3'),
    ];
    expect(subscriptionOutcomes(events)).toEqual([
      'subscription_paused:sub_1',
      'subscription_paused:sub_1',
      'subscription_paused:sub_1',
    ]);
  });

  it('ranks an empty status below every known one in a plain tie', () => {
    expect(
      reasons(statusOf([updated(500, 'paused', null, 'evt_1'), updated(500, '', null, 'evt_2')])),
    ).toEqual(['subscription_paused:sub_1']);
  });

  it('orders two events of the same status by the greater id, which can decide the winner', () => {
    // active (named after paused) vs active: the greater id comes after. When that is the
    // event that left paused, it comes after both others; otherwise the three go round in
    // a circle and paused, the greatest status, decides.
    const withIds = (namer: string, other: string) => [
      updated(500, 'active', null, other),
      updated(500, 'active', 'paused', namer),
      updated(500, 'paused', null, 'evt_5'),
    ];
    expect(subscriptionOutcomes(withIds('evt_2', 'evt_1'))).toEqual(['none', 'none', 'none']);
    expect(subscriptionOutcomes(withIds('evt_1', 'evt_2'))).toEqual([
      'subscription_paused:sub_1',
      'subscription_paused:sub_1',
      'subscription_paused:sub_1',
    ]);
  });
});

describe('when a blocking subscription status was entered', () => {
  it('dates from the .created event even when an earlier event already showed the status', () => {
    const s = statusOf([
      sub('customer.subscription.updated', 100, 'past_due', null, 'evt_u'),
      sub('customer.subscription.created', 200, 'past_due', null, 'evt_c'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 200, eventId: 'evt_c' },
    ]);
  });

  it('does not count an event whose previous status is the same status as entering it', () => {
    const s = statusOf([
      updated(100, 'past_due', 'active', 'evt_in'),
      updated(200, 'past_due', 'past_due', 'evt_again'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_past_due', objectId: 'sub_1', since: 100, eventId: 'evt_in' },
    ]);
  });

  it('dates subscription_unpaid from the move past_due -> unpaid, not from past_due', () => {
    const s = statusOf([
      updated(100, 'past_due', 'active', 'evt_pd'),
      updated(200, 'unpaid', 'past_due', 'evt_up'),
      updated(300, 'unpaid', 'unpaid', 'evt_again'),
    ]);
    expect(s.blockers).toEqual([
      { reason: 'subscription_unpaid', objectId: 'sub_1', since: 200, eventId: 'evt_up' },
    ]);
  });
});
