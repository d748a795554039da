// Legacy charges, charges of PaymentIntents and disputes: what blocks, supersedes, links to an
// invoice, closes, where the entries are kept and which ids are checked. Each test loads
// lambdas/core afresh, so the rules' module-level tables are built inside the test.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  PRE_BASIL_API_VERSION,
  buildEvent,
  type EventOptions,
} from '../../../bin/events/stripe-events';

const NOW = 1_700_000_000;
const BAD_ID_PROBLEM = 'an id holds a character other than letters, digits, "_" and "-"';

beforeEach(() => {
  vi.resetModules();
});

/** The core and the test helpers, evaluated anew (after the reset above). */
async function core() {
  const [derive, rules, record, charge, dispute, billing] = await Promise.all([
    import('../../support/derive'),
    import('../../../lambdas/core/rules'),
    import('../../../lambdas/core/status-record'),
    import('../../../lambdas/core/rules/charge'),
    import('../../../lambdas/core/rules/dispute'),
    import('../../../lambdas/core/billing-status'),
  ]);
  return { derive, rules, record, charge, dispute, billing };
}

const charge = (type: string, id: string, created: number, options: EventOptions = {}) =>
  buildEvent(type, {
    created,
    id: `evt_${id}_${created}`,
    ...options,
    object: { id, ...options.object },
  });

const pi = (type: string, id: string, created: number) =>
  buildEvent(type, { created, id: `evt_${id}_${created}`, paymentIntentId: id });

const dp = (type: string, created: number, status?: string, eventId = `evt_dp_${created}`) =>
  buildEvent(type, { created, id: eventId, disputeId: 'dp_1', ...(status ? { status } : {}) });

const pre = { apiVersion: PRE_BASIL_API_VERSION };

describe('legacy charges (no PaymentIntent)', () => {
  it('block payment_failed from the failed charge, naming the charge and its event', async () => {
    const { derive } = await core();
    const s = derive.statusOf([charge('charge.failed', 'ch_1', 100)]);
    expect(s.canAllocate).toBe(false);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'ch_1', since: 100, eventId: 'evt_ch_1_100' },
    ]);
  });

  it('count a successful legacy charge as a payment that supersedes earlier failures', async () => {
    const { derive, record } = await core();
    const events = [
      pi('payment_intent.payment_failed', 'pi_1', 100),
      charge('charge.succeeded', 'ch_2', 150),
    ];
    expect(derive.statusOf(events).blockers).toEqual([]);
    const derived = record.deriveRecord(
      events.map((e) => derive.applied(e)),
      [],
    )!;
    expect(derived.latestSuccess).toBe(150);
    expect(record.customerChange(derive.applied(events[1]!))).toEqual({ success: 150 });
  });

  it('keep the failure as a payment entry under the charge id', async () => {
    const { derive, record, rules } = await core();
    const fact = derive.applied(charge('charge.failed', 'ch_1', 100));
    expect(rules.entryKindOf(fact)).toBe('payment');
    expect(rules.refoldsEntry(fact)).toBe(true);
    expect([...record.objectEntries([fact], [])]).toEqual([
      ['payment', { kind: 'payment', failures: [{ created: 100, eventId: 'evt_ch_1_100' }] }],
    ]);
    const derived = record.deriveRecord([fact], [])!;
    expect([...derived.entries.keys()]).toEqual([record.entryKey('payment', 'ch_1')]);
  });

  it('open no condition for a charge that names its invoice (API versions before basil)', async () => {
    const { derive } = await core();
    const failed = charge('charge.failed', 'ch_1', 100, { ...pre, invoiceId: 'in_1' });
    expect(derive.applied(failed).data).toMatchObject({ paymentIntent: null, invoice: 'in_1' });
    expect(derive.statusOf([failed]).blockers).toEqual([]);
  });
});

describe('charges of PaymentIntents', () => {
  it('link the PaymentIntent to the invoice the charge names, so its failure opens no condition', async () => {
    const { derive } = await core();
    const failed = pi('payment_intent.payment_failed', 'pi_1', 100);
    const ofInvoice = charge('charge.failed', 'ch_1', 110, {
      ...pre,
      paymentIntentId: 'pi_1',
      invoiceId: 'in_1',
    });
    expect(derive.linksOf(ofInvoice)).toEqual([{ payment: 'pi_1', invoice: 'in_1' }]);
    expect(derive.reasons(derive.statusOf([failed]))).toEqual(['payment_failed:pi_1']);
    expect(derive.statusOf([failed, ofInvoice]).blockers).toEqual([]);
    expect(derive.statusOf([ofInvoice, failed]).blockers).toEqual([]);
  });

  it('claim no invoice link unless the charge names both its PaymentIntent and its invoice', async () => {
    const { charge: rule } = await core();
    const links = (event: ReturnType<typeof buildEvent>) => rule.chargeRule.links?.(event);
    // A charge of a PaymentIntent that names no invoice: nothing is known of the invoice.
    expect(links(charge('charge.failed', 'ch_1', 100, { paymentIntentId: 'pi_1' }))).toEqual([]);
    // A legacy charge of an invoice: the charge's own fact ties it, no PaymentIntent to link.
    expect(links(charge('charge.failed', 'ch_2', 100, { ...pre, invoiceId: 'in_1' }))).toEqual([]);
    expect(links(charge('charge.succeeded', 'ch_3', 100))).toEqual([]);
  });

  it('leave the blockers to the PaymentIntent: a failed charge of one blocks nothing', async () => {
    const { derive, rules } = await core();
    const failed = charge('charge.failed', 'ch_1', 100, { paymentIntentId: 'pi_1' });
    expect(rules.refoldsEntry(derive.applied(failed))).toBe(false);
    expect(derive.statusOf([failed]).blockers).toEqual([]);
  });
});

describe('ids a charge event is refused for', () => {
  it('checks the PaymentIntent and invoice a charge names, not only its own id', async () => {
    const { rules } = await core();
    expect(rules.eventProblem(charge('charge.failed', 'ch_1', 100), NOW)).toBeNull();
    const badIntent = charge('charge.failed', 'ch_1', 100, { object: { payment_intent: 'pi 1' } });
    expect(rules.eventProblem(badIntent, NOW)).toBe(BAD_ID_PROBLEM);
    const badInvoice = charge('charge.failed', 'ch_1', 100, {
      ...pre,
      object: { invoice: 'in/1' },
    });
    expect(rules.eventProblem(badInvoice, NOW)).toBe(BAD_ID_PROBLEM);
  });
});

describe('the rule of each kind', () => {
  it('applies charge events with the charge rule and dispute events with the dispute rule', async () => {
    const { rules } = await core();
    expect(rules.ruleForType('charge.failed')?.kind).toBe('charge');
    expect(rules.ruleForType('charge.succeeded')?.kind).toBe('charge');
    expect(rules.ruleFor('charge').kind).toBe('charge');
    expect(rules.ruleForType('charge.dispute.created')?.kind).toBe('dispute');
    expect(rules.ruleFor('dispute').kind).toBe('dispute');
  });
});

describe('disputes', () => {
  it('block dispute_open from the created event', async () => {
    const { derive } = await core();
    const s = derive.statusOf([dp('charge.dispute.created', 100, undefined, 'evt_dc')]);
    expect(s.canAllocate).toBe(false);
    expect(s.blockers).toEqual([
      { reason: 'dispute_open', objectId: 'dp_1', since: 100, eventId: 'evt_dc' },
    ]);
    expect(s.nextChangeAt).toBeNull();
  });

  it.each(['won', 'lost', 'warning_closed', 'prevented'])(
    'close for good on an update whose status is %s',
    async (status) => {
      const { derive } = await core();
      const s = derive.statusOf([
        dp('charge.dispute.created', 100, 'needs_response'),
        dp('charge.dispute.updated', 200, status),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it('stay open on an update whose status closes nothing', async () => {
    const { derive } = await core();
    const s = derive.statusOf([
      dp('charge.dispute.created', 100, 'needs_response'),
      dp('charge.dispute.updated', 200, 'under_review'),
    ]);
    expect(derive.reasons(s)).toEqual(['dispute_open:dp_1']);
  });

  it('tell backfill exactly the closing statuses of docs/behaviour.md', async () => {
    const { billing, dispute } = await core();
    const closing = ['lost', 'prevented', 'warning_closed', 'won'];
    expect([...dispute.DISPUTE_CLOSED_STATUSES].sort()).toEqual(closing);
    expect([...billing.DISPUTE_CLOSED_STATUSES].sort()).toEqual(closing);
  });

  it('keep an open dispute as a dispute entry under its id', async () => {
    const { derive, record } = await core();
    const fact = derive.applied(dp('charge.dispute.created', 100, undefined, 'evt_dc'));
    expect([...record.objectEntries([fact], [])]).toEqual([
      ['dispute', { kind: 'dispute', opened: { created: 100, eventId: 'evt_dc' } }],
    ]);
    const derived = record.deriveRecord([fact], [])!;
    expect([...derived.entries.keys()]).toEqual([record.entryKey('dispute', 'dp_1')]);
  });

  it('give an open dispute one condition and no moment at which it changes by time', async () => {
    const { dispute } = await core();
    const got = dispute.disputeView.conditions(
      [['dp_1', { kind: 'dispute', opened: { created: 100, eventId: 'evt_dc' } }]],
      { customerId: 'cus_1', latestSuccess: null, now: NOW, warningWindow: 0 },
    );
    expect(got).toEqual({
      conditions: [{ reason: 'dispute_open', objectId: 'dp_1', since: 100, eventId: 'evt_dc' }],
      paymentMethods: [],
      changesAt: [],
    });
  });

  it('reveal no owner keys: a dispute names no customer to tie its charge to', async () => {
    const { dispute, charge: chargeModule } = await core();
    const created = buildEvent('charge.dispute.created', {
      created: 100,
      disputeId: 'dp_1',
      paymentIntentId: 'pi_1',
    });
    expect(dispute.disputeRule.revealKeys(created)).toEqual([]);
    // A charge event, by contrast, reveals its id and its PaymentIntent.
    const ofIntent = charge('charge.succeeded', 'ch_1', 100, { paymentIntentId: 'pi_1' });
    expect(chargeModule.chargeRule.revealKeys(ofIntent)).toEqual(['ch_1', 'pi_1']);
  });

  it('are refused for a charge or PaymentIntent id Stripe never sends', async () => {
    const { rules } = await core();
    expect(rules.eventProblem(dp('charge.dispute.created', 100), NOW)).toBeNull();
    const badCharge = buildEvent('charge.dispute.created', {
      created: 100,
      object: { charge: 'ch 1' },
    });
    expect(rules.eventProblem(badCharge, NOW)).toBe(BAD_ID_PROBLEM);
    const badIntent = buildEvent('charge.dispute.created', {
      created: 100,
      object: { payment_intent: 'pi#1' },
    });
    expect(rules.eventProblem(badIntent, NOW)).toBe(BAD_ID_PROBLEM);
  });
});
