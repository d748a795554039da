// The event builders: every handled type at both API versions, each built object checked field
// by field against the `stripe` package's types of that version (the pinned package, and
// stripe@16.12.0, the last release pinned to 2024-06-20, installed as `stripe-2024-06-20`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { HANDLED_TYPES, REGISTRY } from '../../lambdas/core/registry';
import { stripeEventProblem, type StripeObject } from '../../lambdas/core/stripe-event';
import {
  API_VERSIONS,
  BUILDABLE_TYPES,
  CUSTOMER_ACCOUNT_KINDS,
  EventShapeError,
  FIXTURE_CUSTOMER,
  PINNED_API_VERSION,
  PRE_BASIL_API_VERSION,
  UNCOLLECTIBLE_REASONS,
  buildEvent,
  existsAt,
  fixture,
  shapeOf,
  signatureHeader,
  statusesOf,
  type EventOptions,
} from '../../bin/events/stripe-events';

// ---------------------------------------------------------------------------------------
// The types of each version, read with the TypeScript compiler

const ROOT = path.resolve(__dirname, '..', '..');
const TYPES_DIR: Readonly<Record<string, string>> = {
  [PINNED_API_VERSION]: path.join(ROOT, 'node_modules', 'stripe', 'cjs', 'resources'),
  [PRE_BASIL_API_VERSION]: path.join(ROOT, 'node_modules', 'stripe-2024-06-20', 'types'),
};

/** The file and interface of each object kind's type. */
const TYPE_OF_KIND: Readonly<Record<string, readonly [string, string]>> = {
  payment_intent: ['PaymentIntents.d.ts', 'PaymentIntent'],
  charge: ['Charges.d.ts', 'Charge'],
  invoice: ['Invoices.d.ts', 'Invoice'],
  invoice_payment: ['InvoicePayments.d.ts', 'InvoicePayment'],
  dispute: ['Disputes.d.ts', 'Dispute'],
  payment_method: ['PaymentMethods.d.ts', 'PaymentMethod'],
  source: ['Cards.d.ts', 'Card'],
  subscription: ['Subscriptions.d.ts', 'Subscription'],
  customer: ['Customers.d.ts', 'Customer'],
};

const parsed = new Map<string, ts.SourceFile>();

/** The declaration named `qualified` (`Invoice.StatusDetails`) in a types file of a version. */
function declaration(version: string, file: string, qualified: string): ts.Node {
  const full = path.join(TYPES_DIR[version]!, file);
  let source = parsed.get(full);
  if (!source) {
    source = ts.createSourceFile(full, readFileSync(full, 'utf8'), ts.ScriptTarget.Latest, true);
    parsed.set(full, source);
  }
  let found: ts.Node | undefined;
  // stripe@16 nests everything in `declare module 'stripe' { namespace Stripe { ... } }`.
  const visit = (node: ts.Node, scope: readonly string[]): void => {
    if (found) return;
    if (ts.isModuleDeclaration(node)) {
      const name = node.name.text;
      const inner = ts.isIdentifier(node.name) && name !== 'Stripe' ? [...scope, name] : scope;
      if (node.body) ts.forEachChild(node.body, (c) => visit(c, inner));
      return;
    }
    if (
      (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) &&
      [...scope, node.name.text].join('.') === qualified
    ) {
      found = node;
      return;
    }
    ts.forEachChild(node, (c) => visit(c, scope));
  };
  visit(source, []);
  if (!found) throw new Error(`${qualified} is not declared in ${full}`);
  return found;
}

interface TypeField {
  readonly name: string;
  readonly optional: boolean;
}

/** The fields an interface declares. */
function fieldsOf(version: string, file: string, qualified: string): TypeField[] {
  const node = declaration(version, file, qualified);
  if (!ts.isInterfaceDeclaration(node)) throw new Error(`${qualified} is not an interface`);
  return node.members.filter(ts.isPropertySignature).map((m) => ({
    name: (m.name as ts.Identifier).text,
    optional: m.questionToken !== undefined,
  }));
}

/** The string literals of a union type alias (`OtherString` left out). */
function literalsOf(version: string, file: string, qualified: string): string[] {
  const node = declaration(version, file, qualified);
  if (!ts.isTypeAliasDeclaration(node) || !ts.isUnionTypeNode(node.type)) {
    throw new Error(`${qualified} is not a union`);
  }
  return node.type.types
    .filter(ts.isLiteralTypeNode)
    .map((t) => (t.literal as ts.StringLiteral).text)
    .sort();
}

/** The keys of `object` the type does not declare, and the required fields it lacks. */
function mismatches(object: object, fields: readonly TypeField[]) {
  const declared = new Set(fields.map((f) => f.name));
  return {
    undeclared: Object.keys(object).filter((k) => !declared.has(k)),
    missing: fields.filter((f) => !f.optional && !(f.name in object)).map((f) => f.name),
  };
}

const objectFields = (kind: string, version: string) => {
  const [file, name] = TYPE_OF_KIND[kind]!;
  return fieldsOf(version, file, name);
};

const declares = (kind: string, version: string, field: string) =>
  objectFields(kind, version).some((f) => f.name === field);

// ---------------------------------------------------------------------------------------

/** Every type built with a recipe: the registry's, and the ones it does not list yet. */
const RECIPE_TYPES = [
  ...new Set([...BUILDABLE_TYPES, 'invoice.overdue', 'invoice_payment.paid', 'invoice.voided']),
];
const CASES = RECIPE_TYPES.flatMap((type) =>
  API_VERSIONS.filter((v) => existsAt(type, v)).map((version) => ({ type, version })),
);
const kindOf = (type: string) => shapeOf(type)!.kind;
const object = (type: string, options: EventOptions = {}) =>
  buildEvent(type, { created: 1_700_000_000, ...options }).data.object;
const invoiceAt = (version: string, options: EventOptions = {}) =>
  object('invoice.payment_failed', { apiVersion: version, ...options });

describe('event builders', () => {
  it('can build every handled event type', () => {
    expect([...BUILDABLE_TYPES].sort()).toEqual([...HANDLED_TYPES].sort());
  });

  it('find each handled type its recipe by the kind and meaning of its registry line', () => {
    expect(REGISTRY.map((e) => shapeOf(e.type))).toEqual(
      REGISTRY.map((e) => ({ kind: e.kind, meaning: e.meaning })),
    );
  });

  it('pin the version of the installed stripe package and one before 2025-03-31.basil', () => {
    expect(API_VERSIONS).toEqual([Stripe.API_VERSION, '2024-06-20']);
    expect(
      JSON.parse(
        readFileSync(path.join(ROOT, 'node_modules', 'stripe-2024-06-20', 'package.json'), 'utf8'),
      ),
    ).toMatchObject({ name: 'stripe', version: '16.12.0' });
  });

  // A type Stripe did not send at a version is refused instead (tested below).
  it.each(
    HANDLED_TYPES.flatMap((t) =>
      API_VERSIONS.filter((v) => existsAt(t, v)).map((v) => [t, v] as const),
    ),
  )('builds a valid Stripe event envelope for %s at %s', (type, version) => {
    const event = buildEvent(type, { created: 1_700_000_000, apiVersion: version });

    expect(stripeEventProblem(event)).toBeNull();
    expect(event).toMatchObject({ type, created: 1_700_000_000, api_version: version });
  });

  it.each(CASES)('builds $type at $version with exactly the fields of its types', (c) => {
    const event = buildEvent(c.type, { created: 1_700_000_000, apiVersion: c.version });

    expect(mismatches(event, fieldsOf(c.version, 'Events.d.ts', 'EventBase'))).toEqual({
      undeclared: [],
      missing: [],
    });
    expect(mismatches(event.data.object, objectFields(kindOf(c.type), c.version))).toEqual({
      undeclared: [],
      missing: [],
    });
  });

  it('refuses an API version it has no shapes for, naming the option', () => {
    expect(() => buildEvent('invoice.paid', { apiVersion: '2025-03-31.basil' })).toThrow(
      expect.objectContaining({ option: 'apiVersion' }) as Error,
    );
  });

  it('signs payloads so that the stripe package itself accepts them', () => {
    const payload = JSON.stringify(buildEvent('invoice.paid'));
    const secret = 'whsec_test_secret';

    const header = signatureHeader(payload, secret);

    const event = new Stripe('sk_test_x').webhooks.constructEvent(payload, header, secret);
    expect(event.type).toBe('invoice.paid');
  });
});

describe('the two versions of an invoice and its payment', () => {
  it('links the invoice to its PaymentIntent, charge and subscription only before basil', () => {
    const pre = invoiceAt(PRE_BASIL_API_VERSION, {
      paymentIntentId: 'pi_1',
      subscriptionId: 'sub_1',
    });
    const pinned = invoiceAt(PINNED_API_VERSION, { subscriptionId: 'sub_1' });

    for (const field of ['payment_intent', 'charge', 'paid', 'paid_out_of_band', 'subscription']) {
      expect([field, declares('invoice', PRE_BASIL_API_VERSION, field), field in pre]).toEqual([
        field,
        true,
        true,
      ]);
      expect([field, declares('invoice', PINNED_API_VERSION, field), field in pinned]).toEqual([
        field,
        false,
        false,
      ]);
    }
    expect(pre).toMatchObject({ payment_intent: 'pi_1', subscription: 'sub_1', paid: false });
    expect(pinned.parent).toEqual({
      quote_details: null,
      subscription_details: { metadata: {}, subscription: 'sub_1' },
      type: 'subscription_details',
    });
  });

  it('names the subscription of a basil invoice under parent.subscription_details, as its types do', () => {
    const pinned = invoiceAt(PINNED_API_VERSION);

    const parent = pinned.parent as { subscription_details: StripeObject };
    expect(
      mismatches(parent, fieldsOf(PINNED_API_VERSION, 'Invoices.d.ts', 'Invoice.Parent')),
    ).toEqual({ undeclared: [], missing: [] });
    expect(
      mismatches(
        parent.subscription_details,
        fieldsOf(PINNED_API_VERSION, 'Invoices.d.ts', 'Invoice.Parent.SubscriptionDetails'),
      ),
    ).toEqual({ undeclared: [], missing: [] });
    expect(parent.subscription_details.subscription).toBe(fixture('subscription').id);
  });

  it('says paid: true of a paid invoice before basil, and only its status since', () => {
    const pre = object('invoice.paid', { apiVersion: PRE_BASIL_API_VERSION });
    const pinned = object('invoice.paid');

    expect(pre).toMatchObject({ status: 'paid', paid: true });
    expect(pinned.status).toBe('paid');
    expect('paid' in pinned).toBe(false);
  });

  it.each(['payment_intent.payment_failed', 'charge.failed'])(
    'names the invoice of a %s only before basil',
    (type) => {
      const pre = object(type, { apiVersion: PRE_BASIL_API_VERSION, invoiceId: 'in_1' });
      const pinned = object(type);

      expect(pre.invoice).toBe('in_1');
      expect(declares(kindOf(type), PRE_BASIL_API_VERSION, 'invoice')).toBe(true);
      expect('invoice' in pinned).toBe(false);
      expect(declares(kindOf(type), PINNED_API_VERSION, 'invoice')).toBe(false);
      expect(() => buildEvent(type, { invoiceId: 'in_1' })).toThrow(/removed in 2025-03-31.basil/);
    },
  );

  it('dates the current period on the subscription before basil and on its items since', () => {
    const pre = object('customer.subscription.updated', { apiVersion: PRE_BASIL_API_VERSION });
    const pinned = object('customer.subscription.updated');

    const period = { current_period_start: 1_700_000_000, current_period_end: 1_702_592_000 };
    expect(pre).toMatchObject(period);
    expect(declares('subscription', PRE_BASIL_API_VERSION, 'current_period_end')).toBe(true);
    expect('current_period_end' in pinned).toBe(false);
    expect(declares('subscription', PINNED_API_VERSION, 'current_period_end')).toBe(false);
    const items = (pinned.items as { data: StripeObject[] }).data;
    expect(
      items.map((i) => ({ start: i.current_period_start, end: i.current_period_end })),
    ).toEqual(
      items.map(() => ({ start: period.current_period_start, end: period.current_period_end })),
    );
    const itemFields = fieldsOf(PINNED_API_VERSION, 'SubscriptionItems.d.ts', 'SubscriptionItem');
    expect(itemFields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['current_period_start', 'current_period_end']),
    );
  });

  it('builds invoice_payment.paid as an InvoicePayment linking an invoice and its PaymentIntent', () => {
    const paid = buildEvent('invoice_payment.paid', {
      created: 1_700_000_000,
      invoiceId: 'in_1',
      paymentIntentId: 'pi_1',
    }).data.object;

    expect(paid).toMatchObject({
      object: 'invoice_payment',
      invoice: 'in_1',
      status: 'paid',
      payment: { type: 'payment_intent', payment_intent: 'pi_1' },
      status_transitions: { canceled_at: null, paid_at: 1_700_000_000 },
    });
    expect(paid.id).toMatch(/^inpay_[A-Za-z0-9]{24}$/);
    expect('customer' in paid).toBe(false);
    expect(
      mismatches(
        paid.payment as object,
        fieldsOf(PINNED_API_VERSION, 'InvoicePayments.d.ts', 'InvoicePayment.Payment'),
      ),
    ).toEqual({ undeclared: [], missing: [] });
  });

  it('refuses invoice_payment.paid before 2025-05-28.basil, when Stripe sent no such event', () => {
    expect(() => buildEvent('invoice_payment.paid', { apiVersion: PRE_BASIL_API_VERSION })).toThrow(
      /exists since 2025-05-28.basil/,
    );
  });
});

describe('invoices of a dunning run', () => {
  it('plans the next attempt of a failed invoice three days on, unless told otherwise', () => {
    const planned = invoiceAt(PINNED_API_VERSION);
    const last = invoiceAt(PINNED_API_VERSION, { attemptCount: 4, nextPaymentAttempt: null });

    expect(planned).toMatchObject({
      status: 'open',
      attempt_count: 1,
      attempted: true,
      next_payment_attempt: 1_700_259_200,
      collection_method: 'charge_automatically',
    });
    expect(last).toMatchObject({ attempt_count: 4, next_payment_attempt: null });
  });

  it.each(API_VERSIONS)(
    'builds invoice.overdue at %s as a sent invoice past its due date, open and never attempted',
    (version) => {
      const overdue = object('invoice.overdue', { apiVersion: version, invoiceId: 'in_sent' });

      expect(overdue).toMatchObject({
        id: 'in_sent',
        status: 'open',
        collection_method: 'send_invoice',
        attempt_count: 0,
        attempted: false,
        next_payment_attempt: null,
      });
      expect(overdue.due_date).toBeLessThan(1_700_000_000);
    },
  );

  it('gives a marked_uncollectible invoice its reason at the pinned version', () => {
    const byDefault = object('invoice.marked_uncollectible');
    const paused = object('invoice.marked_uncollectible', {
      uncollectibleReason: 'subscription_paused',
    });
    const none = object('invoice.marked_uncollectible', { uncollectibleReason: null });

    expect(byDefault).toMatchObject({
      status: 'uncollectible',
      status_details: { uncollectible: { reason: 'max_payment_attempts' } },
    });
    expect(paused.status_details).toEqual({ uncollectible: { reason: 'subscription_paused' } });
    expect('status_details' in none).toBe(false);
    expect(
      mismatches(
        paused.status_details as object,
        fieldsOf(PINNED_API_VERSION, 'Invoices.d.ts', 'Invoice.StatusDetails'),
      ),
    ).toEqual({ undeclared: [], missing: [] });
  });

  it('knows the uncollectible reasons of the pinned types, and gives none on other statuses', () => {
    expect([...UNCOLLECTIBLE_REASONS].sort()).toEqual(
      literalsOf(PINNED_API_VERSION, 'Invoices.d.ts', 'Invoice.StatusDetails.Uncollectible.Reason'),
    );
    expect('status_details' in invoiceAt(PINNED_API_VERSION)).toBe(false);
    expect(() =>
      buildEvent('invoice.payment_failed', { uncollectibleReason: 'user_forgiven' }),
    ).toThrow(/only for an uncollectible invoice/);
  });

  it('has no uncollectible reason before endive: none built, a requested one refused', () => {
    const pre = object('invoice.marked_uncollectible', { apiVersion: PRE_BASIL_API_VERSION });

    expect(pre.status).toBe('uncollectible');
    expect('status_details' in pre).toBe(false);
    expect(declares('invoice', PRE_BASIL_API_VERSION, 'status_details')).toBe(false);
    expect(() =>
      buildEvent('invoice.marked_uncollectible', {
        apiVersion: PRE_BASIL_API_VERSION,
        uncollectibleReason: 'subscription_paused',
      }),
    ).toThrow(expect.objectContaining({ option: 'uncollectibleReason' }) as Error);
  });
});

describe('Accounts v2 customer accounts', () => {
  it('names the customer account beside the customer, or alone', () => {
    const both = invoiceAt(PINNED_API_VERSION, { customerAccount: 'acct_1' });
    const alone = invoiceAt(PINNED_API_VERSION, { customer: null, customerAccount: 'acct_1' });
    const neither = invoiceAt(PINNED_API_VERSION);

    expect(both).toMatchObject({ customer: FIXTURE_CUSTOMER, customer_account: 'acct_1' });
    expect(alone).toMatchObject({ customer: null, customer_account: 'acct_1' });
    expect(neither.customer_account).toBeNull();
  });

  it('teaches the alias with a customer event naming its own id and its account', () => {
    const customer = object('customer.updated', { customer: 'cus_1', customerAccount: 'acct_1' });

    expect(customer).toMatchObject({ id: 'cus_1', customer_account: 'acct_1' });
  });

  it('sets customer_account on exactly the kinds whose pinned types declare it', () => {
    const kinds = Object.keys(TYPE_OF_KIND);

    expect(kinds.filter((k) => declares(k, PINNED_API_VERSION, 'customer_account'))).toEqual(
      kinds.filter((k) => CUSTOMER_ACCOUNT_KINDS.has(k)),
    );
    // InvoicePayment has no type before basil.
    const preBasilKinds = kinds.filter((k) => k !== 'invoice_payment');
    expect(
      preBasilKinds.filter((k) => declares(k, PRE_BASIL_API_VERSION, 'customer_account')),
    ).toEqual([]);
  });

  it('refuses a customer account where the object has none, and before basil', () => {
    expect(() => buildEvent('charge.failed', { customerAccount: 'acct_1' })).toThrow(
      expect.objectContaining({ option: 'customerAccount' }) as Error,
    );
    expect(() =>
      buildEvent('invoice.paid', { apiVersion: PRE_BASIL_API_VERSION, customerAccount: 'acct_1' }),
    ).toThrow(/at 2024-06-20: Accounts v2 came later/);
  });
});

describe('ids and fields a caller sets', () => {
  it.each([
    [
      'payment_intent.payment_failed',
      { paymentIntentId: 'pi_9', paymentMethodId: 'pm_9' },
      { id: 'pi_9', payment_method: 'pm_9' },
    ],
    ['charge.failed', { paymentIntentId: 'pi_9' }, { payment_intent: 'pi_9' }],
    [
      'charge.dispute.created',
      { disputeId: 'dp_9', paymentIntentId: 'pi_9' },
      { id: 'dp_9', payment_intent: 'pi_9' },
    ],
    ['invoice.paid', { invoiceId: 'in_9' }, { id: 'in_9' }],
    [
      'customer.subscription.updated',
      { subscriptionId: 'sub_9', status: 'past_due' },
      { id: 'sub_9', status: 'past_due' },
    ],
    ['payment_method.attached', { paymentMethodId: 'pm_9' }, { id: 'pm_9' }],
    ['customer.source.expiring', { paymentMethodId: 'card_9' }, { id: 'card_9' }],
  ] as const)(
    'places the ids and fields of %s where its object carries them',
    (type, options, expected) => {
      expect(object(type, options)).toMatchObject(expected);
    },
  );

  it.each([
    ['customer.created', { invoiceId: 'in_1' }, 'invoiceId'],
    ['payment_method.attached', { subscriptionId: 'sub_1' }, 'subscriptionId'],
    ['invoice.paid', { disputeId: 'dp_1' }, 'disputeId'],
    ['customer.updated', { status: 'active' }, 'status'],
    ['invoice.paid', { status: 'settled' }, 'status'],
    ['charge.failed', { attemptCount: 2 }, 'attemptCount'],
    ['invoice.payment_failed', { attemptCount: -1 }, 'attemptCount'],
    ['payment_intent.succeeded', { nextPaymentAttempt: null }, 'nextPaymentAttempt'],
    ['invoice.paid', { invoiceId: 'pi_1' }, 'invoiceId'],
    ['invoice.paid', { paymentIntentId: 'pi_1' }, 'paymentIntentId'],
  ] as const)('refuses %s with %o, naming the option', (type, options, option) => {
    expect(() => buildEvent(type, options)).toThrow(expect.objectContaining({ option }) as Error);
    expect(() => buildEvent(type, options)).toThrow(EventShapeError);
  });

  it.each(
    Object.entries({
      payment_intent: 'PaymentIntent.Status',
      charge: 'Charge.Status',
      invoice: 'Invoice.Status',
      dispute: 'Dispute.Status',
      subscription: 'Subscription.Status',
    }).flatMap(([kind, alias]) => API_VERSIONS.map((v) => [kind, v, alias] as const)),
  )('accepts exactly the %s statuses of the types at %s', (kind, version, alias) => {
    const [file] = TYPE_OF_KIND[kind]!;

    expect(statusesOf(kind, version).sort()).toEqual(literalsOf(version, file, alias));
  });

  it('refuses a dispute status the pre-basil version did not have yet', () => {
    expect(() =>
      buildEvent('charge.dispute.updated', {
        apiVersion: PRE_BASIL_API_VERSION,
        status: 'prevented',
      }),
    ).toThrow(/must be one of/);
  });
});
