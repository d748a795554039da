// Whose record an event touches (docs/behaviour.md#whose-record-an-event-touches), and what each rule hands the store: the
// fact's object and the ids that tie parked events to their customer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILDABLE_TYPES, buildEvent, fixture } from '../../../bin/events/stripe-events';
import { HANDLED_TYPES } from '../../../lambdas/core/registry';
import { ruleFor, ruleForType } from '../../../lambdas/core/rules';
import type { StripeEvent } from '../../../lambdas/core/stripe-event';

const rule = (type: string) => {
  const r = ruleForType(type);
  if (!r) throw new Error(`no rule for ${type}`);
  return r;
};

describe('rule lookup', () => {
  it('has a rule for every handled event type', () => {
    expect(HANDLED_TYPES.filter((t) => ruleForType(t) === undefined)).toEqual([]);
  });

  it('has no rule for a type no processor handles', () => {
    expect(ruleForType('plan.created')).toBeUndefined();
  });

  it('finds the same rule by object kind and by event type', () => {
    expect(ruleForType('charge.dispute.closed')).toBe(ruleFor('dispute'));
  });
});

describe('whose record an event touches', () => {
  it('is data.object.customer for a payment event', () => {
    const event = buildEvent('payment_intent.payment_failed', { customer: 'cus_A1' });
    expect(rule(event.type).resolveCustomer(event)).toEqual({
      kind: 'customer',
      customerId: 'cus_A1',
    });
  });

  it('reads an expanded customer object by its id', () => {
    const event = buildEvent('invoice.payment_failed', {
      object: { customer: { id: 'cus_A2', object: 'customer' } },
    });
    expect(rule(event.type).resolveCustomer(event)).toEqual({
      kind: 'customer',
      customerId: 'cus_A2',
    });
  });

  it('touches no record for a guest payment (no customer)', () => {
    const event = buildEvent('charge.failed', { customer: null });
    expect(rule(event.type).resolveCustomer(event)).toEqual({ kind: 'none' });
  });

  it.each(['customer.created', 'customer.updated', 'customer.deleted'])(
    'is data.object.id for %s',
    (type) => {
      const event = buildEvent(type, { customer: 'cus_B1' });
      expect(rule(type).resolveCustomer(event)).toEqual({ kind: 'customer', customerId: 'cus_B1' });
    },
  );

  it('looks a dispute up through its charge and PaymentIntent, charge first', () => {
    const event = buildEvent('charge.dispute.created', {
      object: { charge: 'ch_1', payment_intent: 'pi_1' },
    });
    expect(rule(event.type).resolveCustomer(event)).toEqual({
      kind: 'lookup',
      keys: ['ch_1', 'pi_1'],
      chargeId: 'ch_1',
    });
  });

  it('looks a dispute up through the published fixture shape (a charge, no PaymentIntent)', () => {
    const event = buildEvent('charge.dispute.updated');
    expect(rule(event.type).resolveCustomer(event)).toEqual({
      kind: 'lookup',
      keys: [fixture('dispute').charge],
      chargeId: fixture('dispute').charge,
    });
  });

  it('reads an expanded dispute charge by its id', () => {
    const event = buildEvent('charge.dispute.closed', {
      object: { charge: { id: 'ch_9', object: 'charge' }, payment_intent: null },
    });
    expect(rule(event.type).resolveCustomer(event)).toEqual({
      kind: 'lookup',
      keys: ['ch_9'],
      chargeId: 'ch_9',
    });
  });

  it('resolves a detach through previous_attributes.customer', () => {
    const event = buildEvent('payment_method.detached', { customer: 'cus_C1' });
    expect(rule(event.type).resolveCustomer(event)).toEqual({
      kind: 'customer',
      customerId: 'cus_C1',
    });
  });

  it('looks a detach up by its method when previous_attributes has no customer', () => {
    const event = buildEvent('payment_method.detached', {
      object: { id: 'pm_9' },
      previousAttributes: { customer: null },
    });
    expect(rule(event.type).resolveCustomer(event)).toEqual({
      kind: 'lookup',
      keys: ['pm_9'],
      chargeId: null,
    });
  });

  it('reads a source event owner from data.object.customer', () => {
    const event = buildEvent('customer.source.expiring', { customer: 'cus_D1' });
    expect(rule(event.type).resolveCustomer(event)).toEqual({
      kind: 'customer',
      customerId: 'cus_D1',
    });
  });
});

describe('owner references: the keys an event reveals', () => {
  it('reveals a PaymentIntent by its own id and its latest charge', () => {
    const event = buildEvent('payment_intent.succeeded', {
      object: { id: 'pi_1', latest_charge: 'ch_1' },
    });
    const r = rule(event.type);
    expect(r.toFact(event)).toMatchObject({ objectId: 'pi_1' });
    expect(r.revealKeys(event)).toEqual(['pi_1', 'ch_1']);
  });

  it('reads an expanded latest_charge by its id', () => {
    const event = buildEvent('payment_intent.payment_failed', {
      object: { id: 'pi_1', latest_charge: { id: 'ch_2', object: 'charge' } },
    });
    expect(rule(event.type).revealKeys(event)).toEqual(['pi_1', 'ch_2']);
  });

  it('reads charges.data[0] on PaymentIntents of old API versions', () => {
    const event = buildEvent('payment_intent.succeeded', {
      object: {
        id: 'pi_1',
        latest_charge: undefined,
        charges: { object: 'list', data: [{ id: 'ch_old', object: 'charge' }] },
      },
    });
    expect(rule(event.type).revealKeys(event)).toEqual(['pi_1', 'ch_old']);
  });

  it('reveals a PaymentIntent without any charge by its own id only', () => {
    const event = buildEvent('payment_intent.canceled', {
      object: { id: 'pi_1', latest_charge: null },
    });
    expect(rule(event.type).revealKeys(event)).toEqual(['pi_1']);
  });

  it('reveals a charge by its id and its PaymentIntent too', () => {
    const event = buildEvent('charge.succeeded', {
      object: { id: 'ch_1', payment_intent: 'pi_1' },
    });
    const r = rule(event.type);
    expect(r.toFact(event)).toMatchObject({ objectId: 'ch_1' });
    expect(r.revealKeys(event)).toEqual(['ch_1', 'pi_1']);
  });

  it('reveals only the charge for a legacy charge', () => {
    const event = buildEvent('charge.failed', { object: { id: 'ch_1', payment_intent: null } });
    expect(rule(event.type).revealKeys(event)).toEqual(['ch_1']);
  });

  it.each([
    ['payment_method.attached', 'pm_1'],
    ['payment_method.detached', 'pm_1'],
    ['customer.source.created', 'card_1'],
    ['customer.source.deleted', 'src_1'],
    ['customer.source.updated', 'ba_1'],
  ])('reveals %s by the method id', (type, id) => {
    const event = buildEvent(type, { object: { id } });
    const r = rule(type);
    expect(r.toFact(event)).toMatchObject({ objectId: id });
    expect(r.revealKeys(event)).toEqual([id]);
  });

  it.each([
    'invoice.payment_failed',
    'charge.dispute.created',
    'customer.subscription.updated',
    'customer.deleted',
  ])('reveals nothing with %s', (type) => {
    const event = buildEvent(type);
    expect(rule(type).revealKeys(event)).toEqual([]);
  });

  it('names the object of each kind as the fact objectId', () => {
    const dispute = buildEvent('charge.dispute.created', { object: { id: 'dp_1' } });
    const sub = buildEvent('customer.subscription.created', { object: { id: 'sub_1' } });
    const inv = buildEvent('invoice.paid', { object: { id: 'in_1' } });
    const cus = buildEvent('customer.deleted', { customer: 'cus_E1' });
    expect([dispute, sub, inv, cus].map((e) => rule(e.type).toFact(e).objectId)).toEqual([
      'dp_1',
      'sub_1',
      'in_1',
      'cus_E1',
    ]);
  });
});

describe('facts', () => {
  it('copies the envelope: id, type, created and livemode', () => {
    const event = buildEvent('invoice.voided', { id: 'evt_1', created: 1234, livemode: true });
    expect(rule(event.type).toFact(event)).toMatchObject({
      eventId: 'evt_1',
      type: 'invoice.voided',
      created: 1234,
      livemode: true,
    });
  });

  it.each(BUILDABLE_TYPES)('keeps a %s fact under 600 bytes', (type) => {
    const fact = rule(type).toFact(buildEvent(type));
    expect(JSON.stringify(fact).length).toBeLessThan(600);
  });

  it('keeps only what derivation needs from a subscription event', () => {
    const event = buildEvent('customer.subscription.updated', {
      object: { status: 'past_due' },
      previousAttributes: { status: 'active', items: { data: [] } },
    });
    expect(rule(event.type).toFact(event).data).toEqual({
      status: 'past_due',
      previousStatus: 'active',
    });
  });

  it('reads an old invoice that only says paid: true as paid', () => {
    const event = buildEvent('invoice.payment_succeeded', {
      object: {
        status: undefined,
        paid: true,
        payment_intent: 'pi_1',
        attempt_count: 2,
        next_payment_attempt: null,
      },
    });
    expect(rule(event.type).toFact(event).data).toEqual({
      status: 'paid',
      paymentIntent: 'pi_1',
      attemptCount: 2,
      nextPaymentAttempt: null,
      uncollectibleReason: null,
    });
  });

  it('keeps what the access policy reads from a failed invoice: attempts, retry, reason', () => {
    const event = buildEvent('invoice.payment_failed', {
      object: {
        status: 'open',
        payment_intent: undefined,
        attempt_count: 3,
        next_payment_attempt: 1_700_086_400,
        status_details: { uncollectible: { reason: 'subscription_paused' } },
      },
    });
    expect(rule(event.type).toFact(event).data).toEqual({
      status: 'open',
      paymentIntent: null,
      attemptCount: 3,
      nextPaymentAttempt: 1_700_086_400,
      uncollectibleReason: 'subscription_paused',
    });
  });

  it('never throws on an event of a handled type whose object lacks or garbles fields', () => {
    const junk = fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant([]),
      fc.dictionary(fc.string(), fc.string()),
    );
    const fields = ['id', 'customer', 'status', 'latest_charge', 'charges', 'payment_intent'];
    const objectArb = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          ...fields,
          'charge',
          'object',
          'type',
          'card',
          'brand',
          'exp_month',
          'constructor',
        ),
        fc.string(),
      ),
      junk,
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...HANDLED_TYPES),
        objectArb,
        fc.option(objectArb, { nil: undefined }),
        (type, object, previous) => {
          const event: StripeEvent = {
            id: 'evt_1',
            object: 'event',
            type,
            created: 100,
            livemode: false,
            data: previous ? { object, previous_attributes: previous } : { object },
          };
          const r = rule(type);
          const fact = r.toFact(event);
          r.resolveCustomer(event);
          r.revealKeys(event);
          expect(typeof fact.objectId).toBe('string');
        },
      ),
      { numRuns: 500 },
    );
  });
});
