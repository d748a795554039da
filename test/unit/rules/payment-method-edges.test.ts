// Payment methods at their edges: brand words, the method rules and their tables (loaded anew
// inside each test), which stop dates no_valid_payment_method, and when a method's status changes.
import { describe, expect, it, vi } from 'vitest';
import { buildEvent, fixture } from '../../../bin/events/stripe-events';
import type { MethodEntry, ViewContext } from '../../../lambdas/core/entries';
import { expiryInstant } from '../../../lambdas/core/billing-status';
import { paymentMethodRule } from '../../../lambdas/core/rules/payment-method';
import {
  LEGACY_BRANDS,
  methodView,
  namesStop,
} from '../../../lambdas/core/rules/payment-method-details';
import { CUSTOMER } from '../../support/derive';

const DAY = 86_400;
// 2026-11-22T00:00:00Z
const NOW = Date.UTC(2026, 10, 22) / 1000;

/**
 * The core's modules loaded anew inside the calling test, so that their module-level tables
 * and rules are built while that test runs (the top-level imports were built before it).
 */
async function fresh() {
  vi.resetModules();
  const details = await import('../../../lambdas/core/rules/payment-method-details');
  const rules = await import('../../../lambdas/core/rules');
  const registry = await import('../../../lambdas/core/registry');
  const derive = await import('../../support/derive');
  return { details, rules, registry, derive };
}

const pm = (type: string, created: number, card: Record<string, unknown> = {}, evt?: string) =>
  buildEvent(type, {
    created,
    object: { id: 'pm_1', card: { ...(fixture('payment_method').card as object), ...card } },
    ...(evt ? { id: evt } : {}),
  });

describe('brand words', () => {
  it('are read from modules loaded anew, not from the ones imported above', async () => {
    const { details, rules } = await fresh();
    expect(details.LEGACY_BRANDS).not.toBe(LEGACY_BRANDS);
    expect(rules.ruleFor('payment_method')).not.toBe(paymentMethodRule);
  });

  it('maps every legacy brand name to its PaymentMethod word', async () => {
    const { normalizeBrand } = (await fresh()).details;
    const table: Record<string, string> = {
      'American Express': 'amex',
      'Cartes Bancaires': 'cartes_bancaires',
      'Diners Club': 'diners',
      Discover: 'discover',
      'Eftpos Australia': 'eftpos_au',
      Girocard: 'girocard',
      JCB: 'jcb',
      MasterCard: 'mastercard',
      UnionPay: 'unionpay',
      Visa: 'visa',
      Unknown: 'unknown',
    };
    expect(Object.keys(table).map(normalizeBrand)).toEqual(Object.values(table));
  });

  it('keeps every PaymentMethod brand word as it is', async () => {
    const { normalizeBrand } = (await fresh()).details;
    const words = [
      'amex',
      'cartes_bancaires',
      'diners',
      'discover',
      'eftpos_au',
      'girocard',
      'jcb',
      'link',
      'mastercard',
      'unionpay',
      'visa',
      'unknown',
    ];
    expect(words.map(normalizeBrand)).toEqual(words);
  });

  it('reads an empty brand as unknown, a brand neither vocabulary knows', async () => {
    const { normalizeBrand } = (await fresh()).details;
    expect(normalizeBrand('')).toBe('unknown');
    expect(normalizeBrand(null)).toBeNull();
  });
});

describe('the payment-method and source rules', () => {
  it('are the rules of their kinds, with the meanings the registry gives their types', async () => {
    const { rules, registry } = await fresh();
    for (const kind of ['payment_method', 'source'] as const) {
      const rule = rules.ruleFor(kind);
      expect(rule.kind).toBe(kind);
      const routed = registry.REGISTRY.filter((e) => e.kind === kind);
      expect(routed.length).toBeGreaterThan(0);
      for (const e of routed) {
        expect(rules.ruleForType(e.type)).toBe(rule);
        expect(rule.meanings.get(e.type)).toBe(e.meaning);
      }
    }
    expect(rules.ruleFor('payment_method').meanings.get('payment_method.detached')).toBe('deleted');
    expect(rules.ruleFor('source').meanings.get('customer.source.expiring')).toBe('expiring');
  });

  it('fold their facts into one method entry', async () => {
    const { rules, derive } = await fresh();
    const attached = derive.applied(pm('payment_method.attached', 100));
    const created = derive.applied(
      buildEvent('customer.source.created', { created: 100, object: { id: 'card_1' } }),
    );
    expect(rules.entryKindOf(attached)).toBe('method');
    expect(rules.entryKindOf(created)).toBe('method');
    expect(rules.refoldsEntry(attached)).toBe(true);
  });

  it('tie a method event to the method it is about', async () => {
    const { rules } = await fresh();
    const attached = pm('payment_method.attached', 100);
    const created = buildEvent('customer.source.created', { object: { id: 'card_1' } });
    expect(rules.ruleForType(attached.type)!.revealKeys(attached)).toEqual(['pm_1']);
    expect(rules.ruleForType(created.type)!.revealKeys(created)).toEqual(['card_1']);
  });

  it('refuse at the door a detach whose previous owner is not a Stripe id, since it is read', async () => {
    const { rules } = await fresh();
    const detach = (previous: string) =>
      buildEvent('payment_method.detached', {
        created: NOW,
        object: { id: 'pm_1' },
        previousAttributes: { customer: previous },
      });
    expect(rules.ruleForType('payment_method.detached')!.idsRead(detach('cus_Prev'))).toEqual(
      expect.arrayContaining(['pm_1', 'cus_Prev']),
    );
    expect(rules.eventProblem(detach('cus_Prev'), NOW)).toBeNull();
    expect(rules.eventProblem(detach('cus_<Prev>'), NOW)).not.toBeNull();
  });

  it('list a card with its details and expiry announcement', async () => {
    const { derive } = await fresh();
    const s = derive.statusOf(
      [
        buildEvent('customer.source.created', {
          created: 100,
          object: { id: 'card_1', exp_month: 11, exp_year: 2028 },
        }),
        buildEvent('customer.source.expiring', {
          created: 150,
          id: 'evt_exp',
          object: { id: 'card_1', exp_month: 11, exp_year: 2028 },
        }),
        pm('payment_method.attached', 100, { exp_month: 3, exp_year: 2030 }),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods.map((m) => [m.id, m.status, m.expMonth, m.expYear])).toEqual([
      ['card_1', 'expiring', 11, 2028],
      ['pm_1', 'active', 3, 2030],
    ]);
    expect(s.warnings).toEqual([
      { reason: 'payment_method_expiring', objectId: 'card_1', since: 150, eventId: 'evt_exp' },
    ]);
  });

  it('take details at equal created from the event with the later expiry, whatever its id', async () => {
    const { derive } = await fresh();
    const s = derive.statusOf(
      [
        pm('payment_method.updated', 200, { exp_year: 2032, last4: '2222' }, 'evt_a'),
        pm('payment_method.updated', 200, { exp_year: 2031, last4: '1111' }, 'evt_b'),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toMatchObject({ last4: '2222', expYear: 2032 });
  });

  it('rank an event without an expiry below one with an expiry at equal created', async () => {
    const { derive } = await fresh();
    const s = derive.statusOf(
      [
        pm('payment_method.updated', 200, { exp_month: 4, exp_year: 2031, last4: '1111' }, 'evt_a'),
        pm(
          'payment_method.updated',
          200,
          { exp_month: null, exp_year: null, last4: '2222' },
          'evt_b',
        ),
      ],
      { now: NOW },
    );
    expect(s.paymentMethods[0]).toMatchObject({ last4: '1111', expMonth: 4, expYear: 2031 });
  });

  it('give the method view its conditions when loaded anew', async () => {
    const { details } = await fresh();
    const instant = expiryInstant(8, 2030)!;
    const got = details.methodView.conditions([['pm_1', entry({ expMonth: 8, expYear: 2030 })]], {
      ...ctx(NOW),
    });
    expect(got.paymentMethods.map((m) => m.status)).toEqual(['active']);
    expect(got.changesAt).toEqual([instant - WINDOW, instant]);
  });
});

describe('whose owner a detach names', () => {
  it('changes no record when the previous owner is not a cus_ id, like any event naming one', () => {
    const attach = buildEvent('payment_method.attached', { customer: 'acct_1' });
    const detach = buildEvent('payment_method.detached', {
      object: { id: 'pm_1' },
      previousAttributes: { customer: 'acct_1' },
    });
    const viaAttach = paymentMethodRule.resolveCustomer(attach);
    expect(viaAttach.kind).toBe('unsupported');
    expect(paymentMethodRule.resolveCustomer(detach)).toEqual(viaAttach);
  });

  it('changes no record when, with no previous owner, the object names a non-customer', () => {
    const attach = buildEvent('payment_method.attached', { customer: 'acct_1' });
    const detach = buildEvent('payment_method.detached', {
      object: { id: 'pm_1', customer: 'acct_1' },
      previousAttributes: {},
    });
    expect(paymentMethodRule.resolveCustomer(detach)).toEqual(
      paymentMethodRule.resolveCustomer(attach),
    );
    expect(paymentMethodRule.resolveCustomer(detach).kind).toBe('unsupported');
  });

  it('goes by the object when, with no previous owner, it still names its customer', () => {
    const detach = buildEvent('payment_method.detached', {
      object: { id: 'pm_1', customer: 'cus_Obj' },
      previousAttributes: {},
    });
    expect(paymentMethodRule.resolveCustomer(detach)).toEqual({
      kind: 'customer',
      customerId: 'cus_Obj',
    });
  });
});

describe('which stop dates no_valid_payment_method', () => {
  const expiry = (time: number) => ({ time, eventId: null });
  const deletion = (time: number, eventId: string) => ({ time, eventId });

  it('names the later moment, whatever its kind', () => {
    expect(namesStop(expiry(200), deletion(100, 'evt_1'))).toBe(true);
    expect(namesStop(deletion(100, 'evt_1'), expiry(200))).toBe(false);
    expect(namesStop(deletion(200, 'evt_9'), deletion(100, 'evt_1'))).toBe(true);
  });

  it('at the same moment names the deletion, not the expiry, whatever the deletion id', () => {
    for (const id of ['evt_1', 'evt_z', '1', '9', 'A']) {
      expect(namesStop(deletion(100, id), expiry(100))).toBe(true);
      expect(namesStop(expiry(100), deletion(100, id))).toBe(false);
    }
  });

  it('does not replace one expiry by another at the same moment', () => {
    expect(namesStop(expiry(100), expiry(100))).toBe(false);
  });

  it('among deletions at the same moment names the smallest event id, never the same one again', () => {
    expect(namesStop(deletion(100, 'evt_a'), deletion(100, 'evt_b'))).toBe(true);
    expect(namesStop(deletion(100, 'evt_b'), deletion(100, 'evt_a'))).toBe(false);
    expect(namesStop(deletion(100, 'evt_a'), deletion(100, 'evt_a'))).toBe(false);
  });
});

const WINDOW = 30 * DAY;

function entry(over: Partial<MethodEntry> = {}): MethodEntry {
  return {
    kind: 'method',
    type: 'card',
    brand: 'visa',
    last4: '4242',
    expMonth: null,
    expYear: null,
    deleted: null,
    announced: null,
    ...over,
  };
}

function ctx(now: number): ViewContext {
  return { customerId: CUSTOMER, latestSuccess: null, now, warningWindow: WINDOW };
}

/** A card's expiry month and year whose expiry instant is `instant` (first second of a month). */
function expiringAt(instant: number): Pick<MethodEntry, 'expMonth' | 'expYear'> {
  const d = new Date((instant - 1) * 1000);
  return { expMonth: d.getUTCMonth() + 1, expYear: d.getUTCFullYear() };
}

describe('when a method changes status with no event', () => {
  // Expires end of Nov 2026.
  const instant = Date.UTC(2026, 11, 1) / 1000;
  const card = expiringAt(instant);
  const view = (e: MethodEntry, now: number) => methodView.conditions([['pm_1', e]], ctx(now));

  it('reads the expiry month and year of the card used below', () => {
    expect(card).toEqual({ expMonth: 11, expYear: 2026 });
    expect(expiryInstant(card.expMonth, card.expYear)).toBe(instant);
  });

  it('changes at the window opening and at the expiry while the window is ahead', () => {
    const now = instant - WINDOW - DAY;
    const v = view(entry(card), now);
    expect(v.paymentMethods[0]?.status).toBe('active');
    expect(v.changesAt).toEqual([instant - WINDOW, instant]);
  });

  it('changes only at the expiry once the window has opened', () => {
    const v = view(entry(card), instant - DAY);
    expect(v.paymentMethods[0]?.status).toBe('expiring');
    expect(v.changesAt).toEqual([instant]);
  });

  it('at the very second the window opens, changes only at the expiry', () => {
    const now = instant - WINDOW;
    const v = view(entry(card), now);
    expect(v.paymentMethods[0]?.status).toBe('expiring');
    expect(v.conditions).toEqual([
      { reason: 'payment_method_expiring', objectId: 'pm_1', since: now, eventId: null },
    ]);
    expect(v.changesAt).toEqual([instant]);
  });

  it('changes no more once expired', () => {
    for (const now of [instant, instant + DAY]) {
      const v = view(entry(card), now);
      expect(v.paymentMethods[0]?.status).toBe('expired');
      expect(v.changesAt).toEqual([]);
    }
  });

  it('changes only at the expiry when an announcement already made it expiring', () => {
    const announced = { created: NOW - 10 * WINDOW, eventId: 'evt_exp' };
    const v = view(entry({ ...card, announced }), instant - 3 * WINDOW);
    expect(v.paymentMethods[0]?.status).toBe('expiring');
    expect(v.changesAt).toEqual([instant]);
  });

  it('never changes once deleted, even before its expiry', () => {
    const deleted = { created: NOW - DAY, eventId: 'evt_del' };
    const v = view(entry({ ...card, deleted }), instant - WINDOW - DAY);
    expect(v.paymentMethods[0]?.status).toBe('deleted');
    expect(v.changesAt).toEqual([]);
    expect(v.methods).toEqual({
      known: true,
      usable: false,
      lastStop: { time: deleted.created, eventId: 'evt_del' },
    });
  });

  it('never changes without an expiry, whatever the reading time', () => {
    for (const now of [NOW, 0, -NOW]) {
      const v = view(entry(), now);
      expect(v.paymentMethods[0]?.status).toBe('active');
      expect(v.changesAt).toEqual([]);
      expect(v.methods).toEqual({ known: true, usable: true, lastStop: null });
    }
  });

  it('reports no moment for no method', () => {
    expect(methodView.conditions([], ctx(NOW))).toEqual({
      conditions: [],
      paymentMethods: [],
      changesAt: [],
      methods: { known: false, usable: false, lastStop: null },
    });
  });
});
