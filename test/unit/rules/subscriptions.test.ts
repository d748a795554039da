// Subscriptions: their status, same-second ties and blockers (docs/behaviour.md#rules).
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../../bin/events/stripe-events';
import { statusOf } from '../../support/derive';

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
