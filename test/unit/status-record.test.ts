// The status record, what the billing-status item holds (docs/behaviour.md#status-at-constant-cost):
// how facts fold into it through the public functions (deriveRecord, applyObjectFacts,
// statusFromRecord, canAllocateAt) and what the rules tell the processor about a fact
// (its kind, its meaning, whether applying it refolds its object's entry); the record's
// livemode, overrides with unusual fields, and blockers of the same second and object.
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../bin/events/stripe-events';
import {
  DEFAULT_STATUS_SETTINGS,
  canAllocateAt,
  deriveBillingStatus,
  statusFromRecord,
} from '../../lambdas/core/billing-status';
import { parsePolicy } from '../../lambdas/core/policy';
import type { AppliedFact, OverrideRecord } from '../../lambdas/core/facts';
import { REGISTRY } from '../../lambdas/core/registry';
import {
  entryKindOf,
  meaningOf,
  refoldsEntry,
  ruleFor,
  ruleForType,
} from '../../lambdas/core/rules';
import {
  EMPTY_RECORD,
  applyObjectFacts,
  deriveRecord,
  entryKey,
  entryObjectId,
} from '../../lambdas/core/status-record';
import { CUSTOMER, applied, foldedRecord, reasons, statusOf } from '../support/derive';

const NOW = 1_700_000_000;

const override = (
  id: string,
  mode: 'allow' | 'deny' | null,
  setAt: string,
  expiresAt: number | null = null,
): OverrideRecord => ({
  id,
  customerId: CUSTOMER,
  mode,
  reason: 'ticket 7',
  setAt,
  expiresAt,
  actor: 'local:test',
});

const piFailed = (id: string, created: number, pi = 'pi_1') =>
  applied(buildEvent('payment_intent.payment_failed', { id, created, object: { id: pi } }));
const piSucceeded = (id: string, created: number, pi: string) =>
  applied(buildEvent('payment_intent.succeeded', { id, created, object: { id: pi } }));
const invoiceFailed = applied(
  buildEvent('invoice.payment_failed', { id: 'evt_in', created: 100, object: { id: 'in_1' } }),
);

/**
 * A fact of a type no rule handles: what a stored history holds for a type a later version
 * dropped from the registry (its facts stay, as history, in the customer's partition).
 */
const unhandled = (eventId: string, objectId: string, created: number): AppliedFact => ({
  eventId,
  type: 'invoice.finalized',
  created,
  livemode: true,
  objectId,
  data: { status: 'open' },
  customerId: CUSTOMER,
  appliedAt: new Date(created * 1000).toISOString(),
});

describe('a record with nothing committed', () => {
  it('reads as allowed, with no last event', () => {
    expect(statusFromRecord(CUSTOMER, EMPTY_RECORD, NOW, DEFAULT_STATUS_SETTINGS)).toEqual({
      customerId: CUSTOMER,
      canAllocate: true,
      blockers: [],
      warnings: [],
      paymentMethods: [],
      override: null,
      livemode: false,
      lastEventId: null,
      updatedAt: '',
      nextChangeAt: null,
    });
    expect(canAllocateAt(CUSTOMER, EMPTY_RECORD, NOW, DEFAULT_STATUS_SETTINGS)).toBe(true);
  });

  it('is what deriveRecord gives for neither facts nor overrides: none', () => {
    expect(deriveRecord([], [])).toBeNull();
  });
});

describe('canAllocateAt', () => {
  const paymentMethod = applied(
    buildEvent('payment_method.attached', {
      id: 'evt_pm',
      created: 50,
      object: { id: 'pm_1', card: { brand: 'visa', last4: '4242', exp_month: 1, exp_year: 2020 } },
    }),
  );
  const times = [0, 1_500_000_000, NOW, 2_000_000_000];

  it('agrees with the status at any reading time; under the default policy only warnings depend on it', () => {
    const cases = [
      deriveRecord([invoiceFailed], [])!,
      deriveRecord([paymentMethod], [])!,
      deriveRecord([invoiceFailed], [override('ovr_1', 'allow', '2026-01-01T00:00:00.000Z')])!,
      deriveRecord([], [override('ovr_1', 'deny', '2026-01-01T00:00:00.000Z')])!,
    ];
    for (const [i, record] of cases.entries()) {
      for (const now of times) {
        const allowed = canAllocateAt(CUSTOMER, record, now, DEFAULT_STATUS_SETTINGS);
        expect(allowed).toBe([false, true, true, false][i]);
        expect(statusFromRecord(CUSTOMER, record, now, DEFAULT_STATUS_SETTINGS).canAllocate).toBe(
          allowed,
        );
      }
    }
  });

  it('changes with the reading time when a grace ends (docs/behaviour.md#access-policy)', () => {
    const settings = {
      ...DEFAULT_STATUS_SETTINGS,
      policy: parsePolicy({ payment_failed: { action: 'block', grace: 100 } }),
    };
    // invoiceFailed opened at 100: a warning until 200, a blocker from that second on.
    const record = deriveRecord([invoiceFailed], [])!;
    expect(
      [150, 199, 200, 201].map((now) => canAllocateAt(CUSTOMER, record, now, settings)),
    ).toEqual([true, true, false, false]);
    for (const now of [150, 200]) {
      expect(statusFromRecord(CUSTOMER, record, now, settings).canAllocate).toBe(
        canAllocateAt(CUSTOMER, record, now, settings),
      );
    }
  });

  it('changes with the reading time when an override expires', () => {
    const setAt = '2026-01-01T00:00:00.000Z';
    const expiresAt = Date.UTC(2026, 0, 2) / 1000;
    const allowed = deriveRecord([invoiceFailed], [override('ovr_1', 'allow', setAt, expiresAt)])!;
    const denied = deriveRecord([], [override('ovr_1', 'deny', setAt, expiresAt)])!;
    const at = (record: typeof allowed) =>
      [expiresAt - 1, expiresAt, expiresAt + 1].map((now) =>
        canAllocateAt(CUSTOMER, record, now, DEFAULT_STATUS_SETTINGS),
      );
    expect(at(allowed)).toEqual([true, false, false]);
    expect(at(denied)).toEqual([false, true, true]);
  });
});

describe('facts of a type no rule handles', () => {
  it('change nothing but the last commit, alone or beside facts of their object', () => {
    const alone = deriveRecord([unhandled('evt_x', 'in_1', 150)], [])!;
    expect(alone.entries.size).toBe(0);
    expect(alone.lastCommit).toEqual({ id: 'evt_x', at: new Date(150_000).toISOString() });
    expect(alone.lastStripe?.livemode).toBe(true);

    const without = deriveRecord([invoiceFailed], [])!;
    const beside = deriveRecord([invoiceFailed, unhandled('evt_x', 'in_1', 150)], [])!;
    expect(beside.entries).toEqual(without.entries);
    const status = statusFromRecord(CUSTOMER, beside, NOW, DEFAULT_STATUS_SETTINGS);
    expect(reasons(status)).toEqual(['payment_failed:in_1']);
    expect(status.lastEventId).toBe('evt_x');
  });

  it('fold with their object when applied one at a time', () => {
    let record = applyObjectFacts(EMPTY_RECORD, 'in_1', [invoiceFailed]);
    record = applyObjectFacts(record, 'in_1', [invoiceFailed, unhandled('evt_x', 'in_1', 150)]);
    expect(record).toEqual(deriveRecord([invoiceFailed, unhandled('evt_x', 'in_1', 150)], []));
  });

  it('have no meaning, no entry kind and never refold an entry', () => {
    const f = unhandled('evt_x', 'in_1', 150);
    expect(ruleForType(f.type)).toBeUndefined();
    expect(meaningOf(f)).toBeUndefined();
    expect(entryKindOf(f)).toBeNull();
    expect(refoldsEntry(f)).toBe(false);
  });
});

describe('entries of the record', () => {
  const facts = [
    piFailed('evt_pi', 100),
    applied(
      buildEvent('charge.failed', {
        id: 'evt_ch',
        created: 110,
        object: { id: 'ch_1', payment_intent: null },
      }),
    ),
    invoiceFailed,
    applied(
      buildEvent('charge.dispute.created', {
        id: 'evt_dp',
        created: 120,
        object: { id: 'dp_1', charge: 'ch_1' },
      }),
    ),
    applied(
      buildEvent('customer.subscription.updated', {
        id: 'evt_sub',
        created: 130,
        object: { id: 'sub_1', status: 'past_due' },
        previousAttributes: { status: 'active' },
      }),
    ),
    applied(
      buildEvent('payment_method.attached', { id: 'evt_pm', created: 140, object: { id: 'pm_1' } }),
    ),
  ];

  it("are keyed by their own kind and their object's id", () => {
    const record = deriveRecord(facts, [])!;
    expect([...record.entries.keys()].sort()).toEqual([
      'dispute:dp_1',
      'invoice:in_1',
      'method:pm_1',
      'payment:ch_1',
      'payment:pi_1',
      'subscription:sub_1',
    ]);
    for (const [key, entry] of record.entries) {
      expect(key).toBe(entryKey(entry.kind, entryObjectId(key)));
    }
  });

  it('put PaymentIntents and legacy charges in the same kind of entry', () => {
    expect(entryKindOf(facts[0]!)).toBe('payment');
    expect(entryKindOf(facts[1]!)).toBe('payment');
  });

  it("keep only a PaymentIntent's failures after the latest successful payment", () => {
    const failures = [piFailed('evt_f1', 100), piFailed('evt_f2', 300), piFailed('evt_f3', 300)];
    const record = deriveRecord([...failures, piSucceeded('evt_ok', 200, 'pi_2')], [])!;
    expect(record.entries.get('payment:pi_1')).toEqual({
      kind: 'payment',
      failures: [
        { created: 300, eventId: 'evt_f2' },
        { created: 300, eventId: 'evt_f3' },
      ],
    });
    expect(record.latestSuccess).toBe(200);
    const later = deriveRecord([...failures, piSucceeded('evt_ok', 300, 'pi_2')], [])!;
    expect(later.entries.has('payment:pi_1')).toBe(false);
  });

  it('keep an entry as it is when the success is older than every failure', () => {
    const failures = [piFailed('evt_f1', 100), piFailed('evt_f2', 300)];
    const record = deriveRecord([...failures, piSucceeded('evt_ok', 50, 'pi_2')], [])!;
    expect(record.entries.get('payment:pi_1')).toEqual({
      kind: 'payment',
      failures: [
        { created: 100, eventId: 'evt_f1' },
        { created: 300, eventId: 'evt_f2' },
      ],
    });
  });
});

describe('what each rule says about its kind', () => {
  it.each(REGISTRY.map((e) => [e.type, e.kind] as const))(
    '%s is applied by the %s rule',
    (type, kind) => {
      expect(ruleForType(type)!.kind).toBe(kind);
      expect(ruleFor(kind).kind).toBe(kind);
    },
  );

  it.each(REGISTRY.map((e) => [e.type] as const))(
    'the rule of %s folds no facts into no entry',
    (type) => {
      expect(ruleForType(type)!.fold([], meaningOf, [])).toBeNull();
    },
  );

  it('gives each handled fact its meaning in its own rule', () => {
    expect(meaningOf({ type: 'invoice.voided' })).toBe('settled');
    expect(meaningOf({ type: 'payment_method.detached' })).toBe('deleted');
    expect(meaningOf({ type: 'customer.deleted' })).toBe('deleted');
  });
});

describe('which facts refold their object', () => {
  const event = (type: string, object: Record<string, unknown> = {}) =>
    applied(buildEvent(type, { id: `evt_${type}`, created: 100, object }));

  it.each([
    ['payment_intent.payment_failed', {}, true],
    ['payment_intent.succeeded', {}, true],
    ['invoice.paid', {}, true],
    ['charge.dispute.closed', {}, true],
    ['customer.subscription.updated', {}, true],
    ['payment_method.detached', {}, true],
    ['customer.source.expiring', {}, true],
    ['charge.failed', { payment_intent: null }, true],
    ['charge.succeeded', { payment_intent: null }, true],
    // A charge of a PaymentIntent: its PaymentIntent's events decide.
    ['charge.failed', { payment_intent: 'pi_1' }, false],
    ['charge.succeeded', { payment_intent: 'pi_1' }, false],
    // Customer-level facts have no entry.
    ['customer.created', {}, false],
    ['customer.deleted', {}, false],
  ] as const)('%s %j: %s', (type, object, refolds) => {
    expect(refoldsEntry(event(type, object))).toBe(refolds);
  });
});

describe('livemode of the record', () => {
  it('says livemode false for a test-mode event and true for a live one', () => {
    expect(statusOf([buildEvent('customer.created', { livemode: false })]).livemode).toBe(false);
    expect(statusOf([buildEvent('customer.created', { livemode: true })]).livemode).toBe(true);
  });

  it('says livemode false for a test-mode event even when an override is the last commit', () => {
    const ovr: OverrideRecord = {
      id: 'ovr_1',
      customerId: CUSTOMER,
      mode: 'deny',
      reason: 'fraud review',
      setAt: '2026-11-22T10:00:05.000Z',
      expiresAt: null,
      actor: 'local:test',
    };
    const s = deriveBillingStatus({
      customerId: CUSTOMER,
      facts: [
        applied(
          buildEvent('customer.created', { livemode: false }),
          CUSTOMER,
          '2026-11-22T10:00:00.000Z',
        ),
      ],
      overrides: [ovr],
      now: 0,
      settings: DEFAULT_STATUS_SETTINGS,
    });
    expect(s).toMatchObject({ livemode: false, lastEventId: 'ovr_1' });
  });
});

describe('overrides with unusual fields', () => {
  /** An override as `override` builds it, with this reason (or none) and no actor. */
  const ovr = (
    id: string,
    mode: OverrideRecord['mode'],
    setAt: string,
    reason: string | null,
  ): OverrideRecord => ({ ...override(id, mode, setAt), reason, actor: null });

  it('reads an override set without a reason as an empty reason', () => {
    const s = statusOf([], {
      overrides: [ovr('ovr_1', 'allow', '2026-11-22T10:00:00.000Z', null)],
    });
    expect(s.override).toEqual({
      mode: 'allow',
      reason: '',
      setAt: '2026-11-22T10:00:00.000Z',
      expiresAt: null,
    });
  });

  it('never lets an override with an unreadable time win over a dated one', () => {
    // The status API writes setAt as the ISO time of the request, so an unreadable setAt
    // reaches the derivation only from a corrupted store. The reference (statusOf) refuses
    // such input outright; lambdas/core must still answer, in any order, and the dated
    // override must win. Checked against the full derivation and the folded record directly.
    const overrides = [
      ovr('ovr_2', 'deny', 'not a time', 'garbled'),
      ovr('ovr_1', 'allow', '2026-11-22T10:00:00.000Z', 'ticket 1'),
    ];
    for (const order of [overrides, [...overrides].reverse()]) {
      const s = deriveBillingStatus({
        customerId: CUSTOMER,
        facts: [],
        overrides: order,
        now: 1_700_000_000,
        settings: DEFAULT_STATUS_SETTINGS,
      });
      expect(s).toMatchObject({
        override: { mode: 'allow', reason: 'ticket 1' },
        lastEventId: 'ovr_1',
        updatedAt: '2026-11-22T10:00:00.000Z',
        canAllocate: true,
        blockers: [],
      });
      const folded = statusFromRecord(
        CUSTOMER,
        foldedRecord([], order)!,
        1_700_000_000,
        DEFAULT_STATUS_SETTINGS,
      );
      expect(folded).toEqual(s);
    }
  });
});

describe('blockers of the same second and object', () => {
  it('orders customer_deleted before operator_deny when both name the customer at one second', () => {
    const at = 1_700_000_000;
    const s = statusOf([buildEvent('customer.deleted', { customer: CUSTOMER, created: at })], {
      overrides: [
        {
          id: 'ovr_1',
          customerId: CUSTOMER,
          mode: 'deny',
          reason: 'fraud review',
          setAt: new Date(at * 1000).toISOString(),
          expiresAt: null,
          actor: null,
        },
      ],
    });
    expect(reasons(s)).toEqual([`customer_deleted:${CUSTOMER}`, `operator_deny:${CUSTOMER}`]);
  });
});
