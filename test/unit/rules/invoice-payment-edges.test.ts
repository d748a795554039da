// Invoices, invoice payments and PaymentIntents at their edges (rules loaded anew in each test):
// what settles or pauses an invoice, its newest failure and retries, links, ids read, successes.
import { describe, expect, it, vi } from 'vitest';
import {
  PRE_BASIL_API_VERSION,
  buildEvent,
  type EventOptions,
} from '../../../bin/events/stripe-events';
import type { InvoiceEntry, PaymentEntry, ViewContext } from '../../../lambdas/core/entries';
import { parsePolicy } from '../../../lambdas/core/policy';
import { CUSTOMER, reasons } from '../../support/derive';

const DAY = 86_400;
const NOW = 1_700_000_000;

/**
 * The core's modules loaded anew inside the calling test, so that their module-level rules and
 * tables are built while that test runs (the top-level imports were built before it).
 */
async function fresh() {
  vi.resetModules();
  const invoice = await import('../../../lambdas/core/rules/invoice');
  const invoicePayment = await import('../../../lambdas/core/rules/invoice-payment');
  const paymentIntent = await import('../../../lambdas/core/rules/payment-intent');
  const failures = await import('../../../lambdas/core/rules/payment-failures');
  const rules = await import('../../../lambdas/core/rules');
  const registry = await import('../../../lambdas/core/registry');
  const billing = await import('../../../lambdas/core/billing-status');
  const derive = await import('../../support/derive');
  return { invoice, invoicePayment, paymentIntent, failures, rules, registry, billing, derive };
}

const inv = (type: string, created: number, id: string, options: EventOptions = {}) =>
  buildEvent(type, { created, id, invoiceId: 'in_1', ...options });
const pi = (type: string, created: number, id: string, options: EventOptions = {}) =>
  buildEvent(type, { created, id, paymentIntentId: 'pi_1', ...options });
const paid = (options: EventOptions = {}) =>
  buildEvent('invoice_payment.paid', {
    created: 200,
    id: 'evt_ip',
    invoiceId: 'in_1',
    paymentIntentId: 'pi_1',
    ...options,
  });

const ID_PROBLEM = 'an id holds a character other than letters, digits, "_" and "-"';

describe('the rules of these kinds', () => {
  it.each(['invoice', 'invoice_payment', 'payment_intent'] as const)(
    'routes every %s type to the rule of that kind, which gives it the meaning the registry does',
    async (kind) => {
      const { rules, registry } = await fresh();
      const lines = registry.REGISTRY.filter((e) => e.kind === kind);
      expect(lines.length).toBeGreaterThan(0);
      const rule = rules.ruleFor(kind);
      expect(rule.kind).toBe(kind);
      expect([...rule.meanings]).toEqual(lines.map((e) => [e.type, e.meaning]));
      for (const e of lines) {
        expect(rules.ruleForType(e.type)).toBe(rule);
        expect(rules.meaningOf({ type: e.type })).toBe(e.meaning);
      }
    },
  );

  it('folds invoices into invoice entries and PaymentIntents into payment entries; an invoice payment into none', async () => {
    const { rules, registry } = await fresh();
    const expected = { invoice: 'invoice', payment_intent: 'payment', invoice_payment: null };
    for (const [kind, entryKind] of Object.entries(expected)) {
      const types = registry.REGISTRY.filter((e) => e.kind === kind).map((e) => e.type);
      expect(types.length).toBeGreaterThan(0);
      for (const type of types) expect(rules.entryKindOf({ type })).toBe(entryKind);
    }
    expect(
      rules.refoldsEntry(rules.ruleFor('invoice').toFact(inv('invoice.paid', 1, 'evt_1'))),
    ).toBe(true);
  });
});

describe('invoices', () => {
  it('blocks on a failed invoice payment, naming the invoice', async () => {
    const { derive } = await fresh();
    const s = derive.statusOf([inv('invoice.payment_failed', 100, 'evt_f')]);
    expect(s.blockers).toEqual([
      { reason: 'payment_failed', objectId: 'in_1', since: 100, eventId: 'evt_f' },
    ]);
  });

  it.each(['paid', 'void'])(
    'settles an invoice for good once any of its events says it is %s, whatever its type',
    async (status) => {
      const { derive } = await fresh();
      const s = derive.statusOf([
        inv('invoice.payment_failed', 100, 'evt_f'),
        inv('invoice.overdue', 150, 'evt_o'),
        inv('invoice.payment_action_required', 200, 'evt_s', { status }),
      ]);
      expect(s.blockers).toEqual([]);
      expect(s.warnings).toEqual([]);
    },
  );

  it('keeps blocking while no event says the invoice is paid or void', async () => {
    const { derive } = await fresh();
    const s = derive.statusOf([
      inv('invoice.payment_failed', 100, 'evt_f'),
      inv('invoice.payment_action_required', 200, 'evt_s', { status: 'open' }),
    ]);
    expect(reasons(s)).toEqual(['payment_failed:in_1']);
  });

  it('lets a customer whose invoice collection is paused keep access, and blocks for another reason', async () => {
    const { derive } = await fresh();
    const marked = (reason: string) =>
      inv('invoice.marked_uncollectible', 300, 'evt_u', { uncollectibleReason: reason });
    const paused = derive.statusOf([
      inv('invoice.payment_failed', 100, 'evt_f'),
      marked('subscription_paused'),
    ]);
    expect(paused.blockers).toEqual([]);
    expect(paused.canAllocate).toBe(true);
    const gaveUp = derive.statusOf([
      inv('invoice.payment_failed', 100, 'evt_f'),
      marked('max_payment_attempts'),
    ]);
    expect(gaveUp.blockers).toEqual([
      { reason: 'invoice_uncollectible', objectId: 'in_1', since: 100, eventId: 'evt_f' },
    ]);
  });

  it('takes the failure with the most attempts as the newest, whatever order its facts come in', async () => {
    const { invoice, rules, derive } = await fresh();
    const first = derive.applied(
      inv('invoice.payment_failed', 200, 'evt_b', {
        attemptCount: 1,
        nextPaymentAttempt: 200 + 3 * DAY,
      }),
    );
    const second = derive.applied(
      inv('invoice.payment_failed', 200, 'evt_a', { attemptCount: 2, nextPaymentAttempt: null }),
    );
    for (const facts of [
      [first, second],
      [second, first],
    ]) {
      expect(invoice.invoiceRule.fold(facts, rules.meaningOf, [])).toEqual({
        kind: 'invoice',
        failed: { created: 200, eventId: 'evt_a' },
        newestFailure: { at: { created: 200, eventId: 'evt_a' }, retrying: false },
        uncollectible: null,
        overdue: null,
        actionRequired: null,
        paused: false,
      });
    }
  });

  it('blocks from the newest failure under whileRetrying, whatever the delivery order', async () => {
    const { derive } = await fresh();
    const policy = parsePolicy({ payment_failed: { action: 'block', whileRetrying: true } });
    const events = [
      inv('invoice.payment_failed', 100, 'evt_f1', { attemptCount: 1, nextPaymentAttempt: 900 }),
      inv('invoice.payment_failed', 300, 'evt_f2', { attemptCount: 2, nextPaymentAttempt: null }),
    ];
    for (const order of [events, events.slice().reverse()]) {
      const s = derive.statusOf(order, { policy, now: 400 });
      expect(s.blockers).toEqual([
        {
          reason: 'payment_failed',
          objectId: 'in_1',
          since: 100,
          eventId: 'evt_f1',
          blocksAt: 300,
        },
      ]);
    }
  });

  it('reveals no owner for waiting events: only PaymentIntents and charges do', async () => {
    const { invoice } = await fresh();
    const event = inv('invoice.payment_failed', 100, 'evt_f', {
      apiVersion: PRE_BASIL_API_VERSION,
      paymentIntentId: 'pi_1',
    });
    expect(invoice.invoiceRule.revealKeys(event)).toEqual([]);
  });

  it('refuses an invoice event whose payment_intent is an id Stripe never sends', async () => {
    const { rules } = await fresh();
    const good = inv('invoice.payment_failed', NOW, 'evt_f', {
      apiVersion: PRE_BASIL_API_VERSION,
      paymentIntentId: 'pi_1',
    });
    expect(rules.eventProblem(good, NOW)).toBeNull();
    const bad = inv('invoice.payment_failed', NOW, 'evt_f', {
      apiVersion: PRE_BASIL_API_VERSION,
      object: { payment_intent: 'pi_1<script>' },
    });
    expect(rules.eventProblem(bad, NOW)).toBe(ID_PROBLEM);
  });
});

describe("an invoice entry's conditions", () => {
  const ctx: ViewContext = {
    customerId: CUSTOMER,
    latestSuccess: null,
    now: 1000,
    warningWindow: 30 * DAY,
  };
  const entry = (newestFailure: InvoiceEntry['newestFailure']): InvoiceEntry => ({
    kind: 'invoice',
    failed: { created: 100, eventId: 'evt_1' },
    newestFailure,
    uncollectible: null,
    overdue: null,
    actionRequired: null,
    paused: false,
  });
  const failedWith = (retry: { retrying: boolean; gaveUpAt: number | null }) => ({
    conditions: [
      { reason: 'payment_failed', objectId: 'in_1', since: 100, eventId: 'evt_1', retry },
    ],
    paymentMethods: [],
    changesAt: [],
  });

  it('says Stripe still retries while the newest failure plans an attempt, and gave up at no moment', async () => {
    const { invoice } = await fresh();
    const newest = { at: { created: 300, eventId: 'evt_3' }, retrying: true };
    expect(invoice.invoiceView.conditions([['in_1', entry(newest)]], ctx)).toEqual(
      failedWith({ retrying: true, gaveUpAt: null }),
    );
  });

  it('says Stripe gave up at the newest failure once it plans none', async () => {
    const { invoice } = await fresh();
    const newest = { at: { created: 300, eventId: 'evt_3' }, retrying: false };
    expect(invoice.invoiceView.conditions([['in_1', entry(newest)]], ctx)).toEqual(
      failedWith({ retrying: false, gaveUpAt: 300 }),
    );
  });

  it('counts a failure whose newest attempt is unknown as neither retrying nor given up at a moment', async () => {
    const { invoice } = await fresh();
    expect(invoice.invoiceView.conditions([['in_1', entry(null)]], ctx)).toEqual(
      failedWith({ retrying: false, gaveUpAt: null }),
    );
  });
});

describe('invoice payments', () => {
  it("links its PaymentIntent to its invoice, so the PaymentIntent's failure opens no condition", async () => {
    const { derive } = await fresh();
    const failed = pi('payment_intent.payment_failed', 100, 'evt_f');
    expect(reasons(derive.statusOf([failed]))).toEqual(['payment_failed:pi_1']);
    expect(derive.statusOf([failed, paid()]).blockers).toEqual([]);
  });

  it('records its payment (PaymentIntent or legacy charge), its invoice and its status', async () => {
    const { invoicePayment } = await fresh();
    const rule = invoicePayment.invoicePaymentRule;
    expect(rule.toFact(paid()).data).toEqual({ payment: 'pi_1', invoice: 'in_1', status: 'paid' });
    expect(rule.links!(paid())).toEqual([{ payment: 'pi_1', invoice: 'in_1' }]);
    const byCharge = paid({ object: { payment: { type: 'charge', charge: 'ch_1' } } });
    expect(rule.resolveCustomer(byCharge)).toEqual({
      kind: 'lookup',
      keys: ['ch_1'],
      chargeId: null,
    });
  });

  it('reveals no owner for waiting events and is no successful payment by itself', async () => {
    const { invoicePayment, derive, rules } = await fresh();
    const rule = invoicePayment.invoicePaymentRule;
    expect(rule.revealKeys(paid())).toEqual([]);
    expect(rule.customerEffect(derive.applied(paid()))).toEqual({});
    expect(rules.refoldsEntry(derive.applied(paid()))).toBe(false);
  });

  it('refuses an invoice payment whose PaymentIntent or invoice is an id Stripe never sends', async () => {
    const { rules } = await fresh();
    expect(rules.eventProblem(paid({ created: NOW }), NOW)).toBeNull();
    const badPayment = paid({
      created: NOW,
      object: { payment: { type: 'payment_intent', payment_intent: 'pi_1 OR 1=1' } },
    });
    expect(rules.eventProblem(badPayment, NOW)).toBe(ID_PROBLEM);
    const badInvoice = paid({ created: NOW, object: { invoice: 'in_1/../x' } });
    expect(rules.eventProblem(badInvoice, NOW)).toBe(ID_PROBLEM);
  });
});

describe('PaymentIntents', () => {
  it('lets a later success of another PaymentIntent supersede a failure, not an earlier one', async () => {
    const { derive } = await fresh();
    const failed = pi('payment_intent.payment_failed', 100, 'evt_f');
    const later = pi('payment_intent.succeeded', 200, 'evt_s', { paymentIntentId: 'pi_2' });
    const earlier = pi('payment_intent.succeeded', 50, 'evt_s', { paymentIntentId: 'pi_2' });
    expect(derive.statusOf([failed, later]).blockers).toEqual([]);
    expect(reasons(derive.statusOf([failed, earlier]))).toEqual(['payment_failed:pi_1']);
  });

  it('counts only a succeeded PaymentIntent as a successful payment of the customer', async () => {
    const { paymentIntent, derive } = await fresh();
    const effect = (type: string) =>
      paymentIntent.paymentIntentRule.customerEffect(derive.applied(pi(type, 100, 'evt_1')));
    expect(effect('payment_intent.succeeded')).toEqual({ success: true });
    expect(effect('payment_intent.payment_failed')).toEqual({ success: false });
    expect(effect('payment_intent.canceled')).toEqual({ success: false });
  });

  it.each(['succeeded', 'canceled'])(
    'ends for good once any of its events says it is %s, whatever its type',
    async (status) => {
      const { derive } = await fresh();
      const s = derive.statusOf([
        pi('payment_intent.payment_failed', 100, 'evt_f'),
        pi('payment_intent.payment_failed', 200, 'evt_t', { status }),
      ]);
      expect(s.blockers).toEqual([]);
    },
  );

  it('opens no condition of its own once it names its invoice (API versions before basil)', async () => {
    const { derive, paymentIntent } = await fresh();
    const failed = pi('payment_intent.payment_failed', 100, 'evt_f', {
      apiVersion: PRE_BASIL_API_VERSION,
      invoiceId: 'in_1',
    });
    expect(paymentIntent.paymentIntentRule.toFact(failed).data).toMatchObject({ invoice: 'in_1' });
    expect(derive.statusOf([failed]).blockers).toEqual([]);
  });

  it('belongs to its invoice once any of its events names it, even when a later version names none', async () => {
    const { derive } = await fresh();
    const s = derive.statusOf([
      pi('payment_intent.payment_failed', 100, 'evt_f1', {
        apiVersion: PRE_BASIL_API_VERSION,
        invoiceId: 'in_1',
      }),
      pi('payment_intent.payment_failed', 200, 'evt_f2'),
    ]);
    expect(s.blockers).toEqual([]);
  });

  it('stays standalone when Stripe answered it has no invoice payment', async () => {
    const { derive, billing, failures } = await fresh();
    const facts = [derive.applied(pi('payment_intent.payment_failed', 100, 'evt_f'))];
    const status = (invoice: string | null) =>
      billing.deriveBillingStatus({
        customerId: CUSTOMER,
        facts,
        links: [{ payment: 'pi_1', invoice }],
        overrides: [],
        now: 1000,
        settings: derive.settingsOf({}),
      })!;
    expect(status(null).blockers).toEqual([
      { reason: 'payment_failed', objectId: 'pi_1', since: 100, eventId: 'evt_f' },
    ]);
    expect(status('in_1').blockers).toEqual([]);
    expect(failures.belongsToInvoice(facts, [{ payment: 'pi_1', invoice: null }])).toBe(false);
    expect(failures.belongsToInvoice(facts, [{ payment: 'pi_1', invoice: 'in_1' }])).toBe(true);
  });

  it('refuses a PaymentIntent event whose invoice is an id Stripe never sends', async () => {
    const { rules } = await fresh();
    const event = (invoiceId: string) =>
      pi('payment_intent.payment_failed', NOW, 'evt_f', {
        apiVersion: PRE_BASIL_API_VERSION,
        object: { invoice: invoiceId },
      });
    expect(rules.eventProblem(event('in_1'), NOW)).toBeNull();
    expect(rules.eventProblem(event('in_1 in_2'), NOW)).toBe(ID_PROBLEM);
  });
});

describe("a payment entry's conditions", () => {
  const entry: PaymentEntry = {
    kind: 'payment',
    failures: [
      { created: 100, eventId: 'evt_a' },
      { created: 200, eventId: 'evt_b' },
    ],
  };
  const ctx = (latestSuccess: number | null): ViewContext => ({
    customerId: CUSTOMER,
    latestSuccess,
    now: 1000,
    warningWindow: 30 * DAY,
  });
  const failedSince = (since: number, eventId: string) => ({
    conditions: [{ reason: 'payment_failed', objectId: 'pi_1', since, eventId }],
    paymentMethods: [],
    changesAt: [],
  });

  it('dates the failure by its earliest failure a success has not superseded, with no moment of its own', async () => {
    const { failures } = await fresh();
    const view = failures.paymentView;
    expect(view.conditions([['pi_1', entry]], ctx(null))).toEqual(failedSince(100, 'evt_a'));
    expect(view.conditions([['pi_1', entry]], ctx(150))).toEqual(failedSince(200, 'evt_b'));
    expect(view.conditions([['pi_1', entry]], ctx(200))).toEqual({
      conditions: [],
      paymentMethods: [],
      changesAt: [],
    });
  });

  it('drops the failures a success superseded, and the entry once none is left', async () => {
    const { failures } = await fresh();
    const settle = failures.paymentView.settle!;
    expect(settle(entry, null)).toBe(entry);
    expect(settle(entry, 100)).toEqual({
      kind: 'payment',
      failures: [{ created: 200, eventId: 'evt_b' }],
    });
    expect(settle(entry, 200)).toBeNull();
  });
});
