// An independent oracle of the billing status (rules revision 4), for tests only: one
// customer's status read straight from the raw Stripe events of every customer, the operator
// overrides, the access policy and the reading time (docs/behaviour.md#the-billing-status,
// docs/behaviour.md#access-policy). It shares no code with lambdas/core beyond types and the
// policy document's parser, so the product's fold over facts can be checked against it.
//
// Written for clarity over speed: every call re-reads every event. Choices the rules leave
// open are marked "Decision:" where they are made.
//
// Decision (hostile dates): an event whose `created` lies more than a day after the
// verifier's clock is refused at the door, but that clock (the moment of arrival) is not in
// the input: `appliedAt` is a commit time and `now` a later reading time, and neither is it.
// So this oracle does not apply that check; every listed event is taken to have passed it.
// The id checks depend on the payload alone and are applied.

import type { PaymentMethodView } from '../../lambdas/core/facts';
import type { ConditionReason, Policy } from '../../lambdas/core/policy';
import type { StripeEvent } from '../../lambdas/core/stripe-event';

// ---------------------------------------------------------------------------------------
// The interface

export interface ReferenceOverride {
  /** `ovr_...`, time-sortable. */
  id: string;
  customerId: string;
  /** `null`: a clear. */
  mode: 'allow' | 'deny' | null;
  reason: string | null;
  /** ISO 8601 with milliseconds. */
  setAt: string;
  /** Unix seconds; `null`: does not expire. */
  expiresAt: number | null;
  actor: string | null;
}

export interface ReferenceInput {
  /** The `cus_` id whose status is wanted. */
  customerId: string;
  /** Every applied event of any customer, in any order, duplicates possible (same id: applied once, at its earliest appliedAt). */
  events: readonly { event: StripeEvent; appliedAt: string }[];
  overrides: readonly ReferenceOverride[];
  /** DEFAULT_POLICY when the deployment has none. */
  policy: Policy;
  /** Reading time, unix seconds. */
  now: number;
  expiryWarningDays: number;
  /** What the Stripe API answers (the deployment has STRIPE_API_KEY); absent: no key. */
  stripe?: {
    /** ch_ -> its customer. */
    chargeCustomer?: Readonly<Record<string, string | null>>;
    /** pi_ -> in_ (invoice payments API), null: standalone. */
    invoiceOfPaymentIntent?: Readonly<Record<string, string | null>>;
    /** acct_ -> cus_. */
    customerOfAccount?: Readonly<Record<string, string | null>>;
  };
}

export type ReferenceReason = ConditionReason | 'operator_deny';

export interface ReferenceCondition {
  reason: ReferenceReason;
  objectId: string;
  since: number;
  eventId: string | null;
  /** Present only on conditions governed by `grace` or `whileRetrying`. */
  blocksAt?: number | null;
}

export interface ReferenceStatus {
  customerId: string;
  /** Present only when an `acct_` alias of this customer is known. */
  customerAccount?: string;
  canAllocate: boolean;
  blockers: ReferenceCondition[];
  warnings: ReferenceCondition[];
  paymentMethods: PaymentMethodView[];
  override: null | {
    mode: 'allow' | 'deny';
    reason: string;
    setAt: string;
    expiresAt: number | null;
  };
  livemode: boolean;
  lastEventId: string | null;
  updatedAt: string;
  nextChangeAt: number | null;
}

// ---------------------------------------------------------------------------------------
// Reading loosely typed JSON

type Json = Record<string, unknown>;

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An own property only: a key such as "constructor" must never find a prototype member. */
const own = (o: Json | undefined, key: string): unknown =>
  o !== undefined && Object.hasOwn(o, key) ? o[key] : undefined;

const text = (o: Json | undefined, key: string): string | null => {
  const v = own(o, key);
  return typeof v === 'string' ? v : null;
};

const numberAt = (o: Json | undefined, key: string): number | null => {
  const v = own(o, key);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

const child = (o: Json | undefined, key: string): Json | undefined => {
  const v = own(o, key);
  return isJson(v) ? v : undefined;
};

/** An id given as a string or, expanded, as an object with a string `id`. */
const idAt = (o: Json | undefined, key: string): string | null => {
  const v = own(o, key);
  if (typeof v === 'string') return v;
  return isJson(v) ? text(v, 'id') : null;
};

/** Plain code-unit order, as Stripe ids compare (never locale-dependent). */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const hasKey = (record: Readonly<Record<string, unknown>> | undefined, key: string): boolean =>
  record !== undefined && Object.hasOwn(record, key);

const CUSTOMER_ID = /^cus_[A-Za-z0-9]+$/;
const SAFE_ID = /^[A-Za-z0-9_-]*$/;
const safeId = (id: string): boolean => id.length <= 255 && SAFE_ID.test(id);

const DAY = 86_400;

// ---------------------------------------------------------------------------------------
// The events this deployment handles, and what kind of object each is about

const HANDLED_TYPES: ReadonlySet<string> = new Set([
  'payment_intent.payment_failed',
  'payment_intent.succeeded',
  'payment_intent.canceled',
  'charge.failed',
  'charge.succeeded',
  'invoice.payment_failed',
  'invoice.marked_uncollectible',
  'invoice.payment_action_required',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.voided',
  'invoice.overdue',
  'invoice_payment.paid',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'customer.source.created',
  'customer.source.updated',
  'customer.source.expiring',
  'customer.source.deleted',
  'payment_method.attached',
  'payment_method.updated',
  'payment_method.automatically_updated',
  'payment_method.detached',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.created',
  'customer.updated',
  'customer.deleted',
]);

type Kind =
  | 'payment_intent'
  | 'charge'
  | 'invoice'
  | 'invoice_payment'
  | 'dispute'
  | 'payment_method'
  | 'source'
  | 'subscription'
  | 'customer';

function kindOf(type: string): Kind {
  if (type.startsWith('payment_intent.')) return 'payment_intent';
  if (type.startsWith('charge.dispute.')) return 'dispute';
  if (type.startsWith('charge.')) return 'charge';
  if (type.startsWith('invoice_payment.')) return 'invoice_payment';
  if (type.startsWith('invoice.')) return 'invoice';
  if (type.startsWith('customer.source.')) return 'source';
  if (type.startsWith('customer.subscription.')) return 'subscription';
  if (type.startsWith('payment_method.')) return 'payment_method';
  return 'customer';
}

/** A commit moment: the milliseconds for ordering, the text as the record shows it. */
interface Moment {
  ms: number;
  iso: string;
}

const later = (a: Moment, b: Moment): Moment => (b.ms > a.ms ? b : a);

function momentOf(iso: string, what: string): Moment {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TypeError(`${what} is not an ISO 8601 time: ${iso}`);
  return { ms, iso };
}

/** One applied event, deduplicated, with the fields every rule reads. */
interface Ev {
  id: string;
  type: string;
  kind: Kind;
  created: number;
  livemode: boolean;
  object: Json;
  objectId: string;
  previous: Json | undefined;
  /** Its earliest commit, as listed. */
  arrived: Moment;
}

const piFirstCharge = (o: Json): string | null => {
  const data = own(child(o, 'charges'), 'data');
  return Array.isArray(data) && isJson(data[0]) ? text(data[0], 'id') : null;
};
const invoicePaymentIntent = (o: Json): string | null =>
  idAt(child(o, 'payment'), 'payment_intent');

/** Every id a rule reads from this event (the ids the door checks). */
function idsRead(e: Ev): (string | null)[] {
  const o = e.object;
  const ids: (string | null)[] = [e.id, e.objectId];
  switch (e.kind) {
    case 'payment_intent':
      ids.push(idAt(o, 'latest_charge'), piFirstCharge(o), idAt(o, 'invoice'));
      break;
    case 'charge':
      ids.push(idAt(o, 'payment_intent'), idAt(o, 'invoice'));
      break;
    case 'invoice':
      ids.push(idAt(o, 'payment_intent'));
      break;
    case 'dispute':
      return [...ids, idAt(o, 'charge'), idAt(o, 'payment_intent')];
    case 'invoice_payment':
      return [...ids, idAt(o, 'invoice'), invoicePaymentIntent(o)];
    default:
      break;
  }
  if (e.type === 'payment_method.detached') {
    ids.push(idAt(e.previous, 'customer'), idAt(e.previous, 'customer_account'));
  }
  ids.push(idAt(o, 'customer'), idAt(o, 'customer_account'));
  return ids;
}

/**
 * The applied events: one per id (its earliest commit), of a handled type, not from a
 * connected account (a non-null `account`), with every id it carries well formed.
 * Decision: an event whose object has no string `id` is not applied (no rule can key it).
 */
function appliedEvents(input: ReferenceInput): Ev[] {
  const byId = new Map<string, { ev: Ev; account: unknown }>();
  for (const { event, appliedAt } of input.events) {
    const arrived = momentOf(appliedAt, `appliedAt of ${String(event.id)}`);
    if (typeof event.id !== 'string') continue;
    const prior = byId.get(event.id);
    if (prior && prior.ev.arrived.ms <= arrived.ms) continue;
    const data = isJson(event.data) ? event.data : {};
    const object = child(data, 'object') ?? {};
    const ev: Ev = {
      id: event.id,
      type: String(event.type),
      kind: kindOf(String(event.type)),
      created: event.created,
      livemode: event.livemode === true,
      object,
      objectId: text(object, 'id') ?? '',
      previous: child(data, 'previous_attributes'),
      arrived,
    };
    byId.set(event.id, { ev, account: event.account });
  }
  const applied: Ev[] = [];
  for (const { ev, account } of byId.values()) {
    if (!HANDLED_TYPES.has(ev.type) || typeof ev.created !== 'number') continue;
    if (!Number.isFinite(ev.created) || (account !== undefined && account !== null)) continue;
    if (text(ev.object, 'id') === null) continue;
    if (idsRead(ev).every((id) => id === null || safeId(id))) applied.push(ev);
  }
  return applied;
}

// ---------------------------------------------------------------------------------------
// Whose record an event touches (docs/behaviour.md#whose-record-an-event-touches)

/** How an event names its owner, before anything is looked up. */
type Claim =
  /** A well-formed `cus_` id; `teaches` an Accounts v2 alias when the object names both. */
  | { kind: 'customer'; customerId: string; teaches: string | null }
  /** Only a `customer_account`: the aliased customer, once known. */
  | { kind: 'account'; account: string }
  /** A guest payment, a malformed customer id, ...: no record changes. */
  | { kind: 'none' }
  /** A dispute: found through its charge or PaymentIntent. */
  | { kind: 'dispute'; charge: string | null; paymentIntent: string | null }
  /** A detached method without `previous_attributes.customer`: found through its other events. */
  | { kind: 'detached' }
  /** An invoice payment: the customer of its PaymentIntent. */
  | { kind: 'invoice_payment'; paymentIntent: string | null };

/**
 * An owner as an object names it. Decision: a `customer` that is present but not `cus_`
 * followed by letters and digits changes no record, even beside a `customer_account`, and
 * reveals nothing to disputes.
 */
function named(customer: string | null, account: string | null): Claim {
  if (customer !== null) {
    return CUSTOMER_ID.test(customer)
      ? { kind: 'customer', customerId: customer, teaches: account }
      : { kind: 'none' };
  }
  return account !== null ? { kind: 'account', account } : { kind: 'none' };
}

function claimOf(e: Ev): Claim {
  const o = e.object;
  switch (e.kind) {
    case 'customer':
      return named(e.objectId, idAt(o, 'customer_account'));
    case 'dispute':
      return {
        kind: 'dispute',
        charge: idAt(o, 'charge'),
        paymentIntent: idAt(o, 'payment_intent'),
      };
    case 'invoice_payment':
      return { kind: 'invoice_payment', paymentIntent: invoicePaymentIntent(o) };
    default:
      break;
  }
  if (e.type === 'payment_method.detached') {
    // Stripe has cleared `customer` already. Decision: the object's own `customer` is not
    // read on a detach, only what `previous_attributes` says it was.
    const customer = idAt(e.previous, 'customer');
    const account = idAt(e.previous, 'customer_account');
    return customer === null && account === null ? { kind: 'detached' } : named(customer, account);
  }
  return named(idAt(o, 'customer'), idAt(o, 'customer_account'));
}

/** Where an applied event landed: its customer (null: none, or still waiting) and commit. */
interface Resolved {
  ev: Ev;
  owner: string | null;
  committed: Moment;
  /** The alias the Stripe API told while resolving this event, if any. */
  stripeAlias: string | null;
}

interface Witness {
  customerId: string;
  created: number;
  eventId: string;
  committed: Moment;
}

/**
 * The customer several witnesses name, and when it first became known. Decision: if they
 * disagree (Stripe never does), the witness with the earliest `created`, then the smallest
 * event id, decides; the customer is known from the earliest commit among its witnesses.
 */
function agreed(
  witnesses: readonly Witness[] | undefined,
): { customerId: string; at: Moment } | null {
  if (!witnesses || witnesses.length === 0) return null;
  const first = [...witnesses].sort(
    (a, b) => a.created - b.created || compare(a.eventId, b.eventId),
  )[0]!;
  const same = witnesses.filter((w) => w.customerId === first.customerId);
  const at = same.reduce((m, w) => (w.committed.ms < m.ms ? w.committed : m), same[0]!.committed);
  return { customerId: first.customerId, at };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Resolves every applied event to its customer, in dependency order: aliases (from objects
 * naming both ids), then events naming a customer or an account, then what those reveal
 * (charges and PaymentIntents, methods), then disputes, invoice payments and detaches.
 *
 * A waiting event is applied when its customer becomes known, so its commit is taken as the
 * later of its own listed commit and the first commit that made the customer known (with
 * the Stripe API, the lookup happens as it is processed: its own commit).
 */
function resolveAll(input: ReferenceInput, events: readonly Ev[]): Resolved[] {
  const claims = new Map(events.map((e) => [e.id, claimOf(e)]));
  const claim = (e: Ev): Claim => claims.get(e.id)!;

  const aliases = new Map<string, Witness[]>();
  for (const e of events) {
    const c = claim(e);
    if (c.kind === 'customer' && c.teaches !== null) {
      push(aliases, c.teaches, {
        customerId: c.customerId,
        created: e.created,
        eventId: e.id,
        committed: e.arrived,
      });
    }
  }

  const resolved = new Map<string, Resolved>();
  const accountOf = input.stripe?.customerOfAccount;
  for (const e of events) {
    const c = claim(e);
    if (c.kind === 'customer') {
      resolved.set(e.id, { ev: e, owner: c.customerId, committed: e.arrived, stripeAlias: null });
    } else if (c.kind === 'none') {
      resolved.set(e.id, { ev: e, owner: null, committed: e.arrived, stripeAlias: null });
    } else if (c.kind === 'account') {
      const taught = agreed(aliases.get(c.account));
      if (hasKey(accountOf, c.account)) {
        const answer = accountOf![c.account] ?? null;
        const owner =
          taught?.customerId ?? (answer !== null && CUSTOMER_ID.test(answer) ? answer : null);
        resolved.set(e.id, {
          ev: e,
          owner,
          committed: e.arrived,
          stripeAlias: taught === null && owner !== null ? c.account : null,
        });
      } else if (taught) {
        resolved.set(e.id, {
          ev: e,
          owner: taught.customerId,
          committed: later(e.arrived, taught.at),
          stripeAlias: null,
        });
      } else {
        resolved.set(e.id, { ev: e, owner: null, committed: e.arrived, stripeAlias: null });
      }
    }
  }

  // What charge and PaymentIntent events reveal (only a known customer reveals), and which
  // customer each payment method's own events name.
  const reveals = new Map<string, Witness[]>();
  const methodOwners = new Map<string, Witness[]>();
  for (const r of resolved.values()) {
    if (r.owner === null) continue;
    const e = r.ev;
    const w: Witness = {
      customerId: r.owner,
      created: e.created,
      eventId: e.id,
      committed: r.committed,
    };
    if (e.kind === 'payment_intent') {
      for (const id of [e.objectId, idAt(e.object, 'latest_charge'), piFirstCharge(e.object)]) {
        if (id !== null) push(reveals, id, w);
      }
    } else if (e.kind === 'charge') {
      for (const id of [e.objectId, idAt(e.object, 'payment_intent')]) {
        if (id !== null) push(reveals, id, w);
      }
    } else if (e.kind === 'payment_method' || e.kind === 'source') {
      push(methodOwners, e.objectId, w);
    }
  }

  const chargeCustomer = input.stripe?.chargeCustomer;
  for (const e of events) {
    const c = claim(e);
    let found: { customerId: string; at: Moment } | null = null;
    if (c.kind === 'dispute') {
      found =
        (c.charge !== null ? agreed(reveals.get(c.charge)) : null) ??
        (c.paymentIntent !== null ? agreed(reveals.get(c.paymentIntent)) : null);
      if (c.charge !== null && hasKey(chargeCustomer, c.charge)) {
        // The processor asks Stripe as soon as the customer is not known yet.
        const answer = chargeCustomer![c.charge] ?? null;
        const owner =
          found?.customerId ?? (answer !== null && CUSTOMER_ID.test(answer) ? answer : null);
        resolved.set(e.id, { ev: e, owner, committed: e.arrived, stripeAlias: null });
        continue;
      }
    } else if (c.kind === 'invoice_payment') {
      found = c.paymentIntent !== null ? agreed(reveals.get(c.paymentIntent)) : null;
    } else if (c.kind === 'detached') {
      found = agreed(methodOwners.get(e.objectId)?.filter((w) => w.eventId !== e.id));
    } else {
      continue;
    }
    resolved.set(e.id, {
      ev: e,
      owner: found?.customerId ?? null,
      committed: found ? later(e.arrived, found.at) : e.arrived,
      stripeAlias: null,
    });
  }
  return [...resolved.values()];
}

/**
 * The `acct_` alias of a customer: taught by an applied object naming both ids, or told by
 * the Stripe API for one of its events. Decision: several aliases (never seen) show the
 * smallest.
 */
function aliasOf(customerId: string, all: readonly Resolved[]): string | null {
  const accounts: string[] = [];
  for (const r of all) {
    const c = claimOf(r.ev);
    if (c.kind === 'customer' && c.customerId === customerId && c.teaches !== null) {
      accounts.push(c.teaches);
    }
    if (r.owner === customerId && r.stripeAlias !== null) accounts.push(r.stripeAlias);
  }
  return accounts.sort(compare)[0] ?? null;
}

// ---------------------------------------------------------------------------------------
// PaymentIntents of invoices (docs/behaviour.md#access-policy)

/**
 * PaymentIntents and charges known to belong to an invoice: named by any applied event (a
 * PaymentIntent or charge with `invoice`, an invoice with `payment_intent`, an applied
 * invoice payment), or, with the API key, by Stripe for a PaymentIntent whose failure was
 * applied. Decision: `Invoice.charge` and `InvoicePayment.payment.charge` are not read (a
 * charge's own `invoice` links it in the same API versions).
 */
function linkedToInvoices(input: ReferenceInput, all: readonly Resolved[]): Set<string> {
  const linked = new Set<string>();
  const failedIntents = new Set<string>();
  for (const r of all) {
    if (r.owner === null) continue;
    const e = r.ev;
    const o = e.object;
    if (e.kind === 'payment_intent') {
      if (idAt(o, 'invoice') !== null) linked.add(e.objectId);
      if (e.type === 'payment_intent.payment_failed') failedIntents.add(e.objectId);
    } else if (e.kind === 'charge' && idAt(o, 'invoice') !== null) {
      linked.add(e.objectId);
      const pi = idAt(o, 'payment_intent');
      if (pi !== null) linked.add(pi);
    } else if (e.kind === 'invoice') {
      const pi = idAt(o, 'payment_intent');
      if (pi !== null) linked.add(pi);
    } else if (e.kind === 'invoice_payment') {
      const pi = invoicePaymentIntent(o);
      if (pi !== null) linked.add(pi);
    }
  }
  const invoiceOf = input.stripe?.invoiceOfPaymentIntent;
  for (const pi of failedIntents) {
    if (hasKey(invoiceOf, pi) && typeof invoiceOf![pi] === 'string') linked.add(pi);
  }
  return linked;
}

// ---------------------------------------------------------------------------------------
// Conditions as the rules open them, before the policy places them

interface Opened {
  reason: ConditionReason;
  objectId: string;
  since: number;
  eventId: string | null;
  /** Invoice failures only: what Stripe's retry schedule says (whileRetrying). */
  retry?: { retrying: boolean; newestCreated: number };
}

/** The event that opened a condition: the earliest `created`, then the smallest id. */
function earliest(events: readonly Ev[]): Ev {
  return [...events].sort((a, b) => a.created - b.created || compare(a.id, b.id))[0]!;
}

const opened = (reason: ConditionReason, objectId: string, from: Ev): Opened => ({
  reason,
  objectId,
  since: from.created,
  eventId: from.id,
});

function byObject(events: readonly Ev[]): Map<string, Ev[]> {
  const groups = new Map<string, Ev[]>();
  for (const e of events) push(groups, e.objectId, e);
  return groups;
}

// Payments: PaymentIntents and legacy charges, superseded by later successful payments.

const isSuccessfulPayment = (e: Ev): boolean =>
  e.type === 'payment_intent.succeeded' ||
  (e.type === 'charge.succeeded' && idAt(e.object, 'payment_intent') === null);

/**
 * Decision: a payment is successful by its event type only (`payment_intent.succeeded`, a
 * legacy `charge.succeeded`); an event of another type whose object says `succeeded` ends
 * that PaymentIntent but supersedes nothing.
 */
function paymentConditions(mine: readonly Ev[], linked: ReadonlySet<string>): Opened[] {
  const latestSuccess = Math.max(
    -Infinity,
    ...mine.filter(isSuccessfulPayment).map((e) => e.created),
  );
  // Decision (the item's bound): an object's failures count by its nine earliest and its
  // latest; a success past the ninth dates the condition from the latest.
  const bounded = (failures: Ev[]) => {
    const sorted = [...failures].sort((a, b) => a.created - b.created || compare(a.id, b.id));
    return sorted.length > 10 ? [...sorted.slice(0, 9), sorted[sorted.length - 1]!] : sorted;
  };
  const unsuperseded = (failures: Ev[]) =>
    bounded(failures).filter((f) => f.created > latestSuccess);
  const result: Opened[] = [];

  const intents = byObject(mine.filter((e) => e.kind === 'payment_intent'));
  for (const [pi, events] of intents) {
    const terminal = events.some(
      (e) =>
        e.type === 'payment_intent.succeeded' ||
        e.type === 'payment_intent.canceled' ||
        ['succeeded', 'canceled'].includes(text(e.object, 'status') ?? ''),
    );
    if (terminal || linked.has(pi)) continue;
    const open = unsuperseded(events.filter((e) => e.type === 'payment_intent.payment_failed'));
    if (open.length > 0) result.push(opened('payment_failed', pi, earliest(open)));
  }

  // Decision: whether a charge is legacy (no PaymentIntent) is read per event.
  const legacy = mine.filter(
    (e) => e.type === 'charge.failed' && idAt(e.object, 'payment_intent') === null,
  );
  for (const [charge, failures] of byObject(legacy)) {
    if (linked.has(charge)) continue;
    const open = unsuperseded(failures);
    if (open.length > 0) result.push(opened('payment_failed', charge, earliest(open)));
  }
  return result;
}

// Invoices: failures, uncollectible, overdue, action required; paid or void ends them all.

const INVOICE_SETTLED_TYPES = new Set([
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.voided',
]);

function invoiceSettled(e: Ev): boolean {
  if (INVOICE_SETTLED_TYPES.has(e.type)) return true;
  const status = text(e.object, 'status');
  // Old API versions without a status say `paid: true`.
  return status === null ? own(e.object, 'paid') === true : status === 'paid' || status === 'void';
}

const collectionPaused = (e: Ev): boolean =>
  text(child(child(e.object, 'status_details'), 'uncollectible'), 'reason') ===
  'subscription_paused';

/** The newest failure for the retry schedule: greatest attempt_count, then created, then id. */
function newestAttempt(failures: readonly Ev[]): Ev {
  const attempt = (e: Ev) => numberAt(e.object, 'attempt_count') ?? -Infinity;
  return [...failures].sort(
    (a, b) => attempt(b) - attempt(a) || b.created - a.created || compare(b.id, a.id),
  )[0]!;
}

/**
 * Decision: paused collection, seen on any event of the invoice, ends its payment_failed and
 * invoice_overdue for good (a set of events has no "before"); it leaves
 * payment_action_required alone. invoice_uncollectible is dated from the invoice's failures
 * and uncollectible marks only, not its overdue notices.
 */
function invoiceConditions(mine: readonly Ev[]): Opened[] {
  const result: Opened[] = [];
  for (const [invoice, events] of byObject(mine.filter((e) => e.kind === 'invoice'))) {
    if (events.some(invoiceSettled)) continue;
    const ofType = (type: string) => events.filter((e) => e.type === type);
    const failed = ofType('invoice.payment_failed');
    const uncollectible = ofType('invoice.marked_uncollectible');
    const overdue = ofType('invoice.overdue');
    const actionRequired = ofType('invoice.payment_action_required');
    if (!events.some(collectionPaused)) {
      if (uncollectible.length > 0) {
        result.push(
          opened('invoice_uncollectible', invoice, earliest([...failed, ...uncollectible])),
        );
      } else {
        if (failed.length > 0) {
          const newest = newestAttempt(failed);
          result.push({
            ...opened('payment_failed', invoice, earliest(failed)),
            retry: {
              retrying: numberAt(newest.object, 'next_payment_attempt') !== null,
              newestCreated: newest.created,
            },
          });
        }
        if (overdue.length > 0) result.push(opened('invoice_overdue', invoice, earliest(overdue)));
      }
    }
    if (actionRequired.length > 0) {
      result.push(opened('payment_action_required', invoice, earliest(actionRequired)));
    }
  }
  return result;
}

// Disputes

const DISPUTE_CLOSED = new Set(['won', 'lost', 'warning_closed', 'prevented']);

function disputeConditions(mine: readonly Ev[]): Opened[] {
  const result: Opened[] = [];
  for (const [dispute, events] of byObject(mine.filter((e) => e.kind === 'dispute'))) {
    const closed = events.some(
      (e) =>
        e.type === 'charge.dispute.closed' || DISPUTE_CLOSED.has(text(e.object, 'status') ?? ''),
    );
    const created = events.filter((e) => e.type === 'charge.dispute.created');
    if (!closed && created.length > 0)
      result.push(opened('dispute_open', dispute, earliest(created)));
  }
  return result;
}

// Subscriptions

// A Map, not an object literal: a status such as "constructor" must not find a prototype key.
const SUBSCRIPTION_RANK: ReadonlyMap<string, number> = new Map([
  ['incomplete', 0],
  ['trialing', 1],
  ['active', 2],
  ['paused', 3],
  ['past_due', 4],
  ['unpaid', 5],
  ['canceled', 6],
  ['incomplete_expired', 6],
]);
/** Decision: a status outside Stripe's list ranks below every known one. */
const rank = (status: string): number => SUBSCRIPTION_RANK.get(status) ?? -1;
const SUBSCRIPTION_BLOCKS: ReadonlyMap<string, ConditionReason> = new Map([
  ['past_due', 'subscription_past_due'],
  ['unpaid', 'subscription_unpaid'],
  ['paused', 'subscription_paused'],
]);

/** The status an event gives its subscription; a `.deleted` without one means canceled. */
function subscriptionStatus(e: Ev): string | null {
  const status = text(e.object, 'status');
  return status === null && e.type === 'customer.subscription.deleted' ? 'canceled' : status;
}

const previousStatus = (e: Ev): string | null => text(e.previous, 'status');

/** Among events with the same `created`: whether `a` comes after `b`. */
function comesAfter(a: Ev, b: Ev): boolean {
  const aNamesB = previousStatus(a) !== null && previousStatus(a) === subscriptionStatus(b);
  const bNamesA = previousStatus(b) !== null && previousStatus(b) === subscriptionStatus(a);
  if (aNamesB !== bNamesA) return aNamesB;
  const byRank = rank(subscriptionStatus(a)!) - rank(subscriptionStatus(b)!);
  return byRank !== 0 ? byRank > 0 : a.id > b.id;
}

/**
 * The newest event: greatest `created`; among ties, the one that comes after every other.
 * Decision: when previous statuses form a cycle and no event comes after all others, the
 * status order, then the greater id, decide among all the tied events.
 */
function newestSubscriptionEvent(events: readonly Ev[]): Ev {
  const latest = Math.max(...events.map((e) => e.created));
  const tied = events.filter((e) => e.created === latest);
  const winner = tied.find((c) => tied.every((d) => d === c || comesAfter(c, d)));
  if (winner) return winner;
  return [...tied].sort(
    (a, b) => rank(subscriptionStatus(b)!) - rank(subscriptionStatus(a)!) || compare(b.id, a.id),
  )[0]!;
}

function subscriptionConditions(mine: readonly Ev[]): Opened[] {
  const result: Opened[] = [];
  // An event without a status says nothing about its subscription.
  const withStatus = mine.filter(
    (e) => e.kind === 'subscription' && subscriptionStatus(e) !== null,
  );
  for (const [subscription, events] of byObject(withStatus)) {
    // canceled and incomplete_expired are terminal: nothing after them counts.
    if (events.some((e) => rank(subscriptionStatus(e)!) === 6)) continue;
    const current = subscriptionStatus(newestSubscriptionEvent(events))!;
    const reason = SUBSCRIPTION_BLOCKS.get(current);
    if (reason === undefined) continue;
    const inStatus = events.filter((e) => subscriptionStatus(e) === current);
    const entered = inStatus.filter(
      (e) =>
        e.type === 'customer.subscription.created' ||
        (previousStatus(e) !== null && previousStatus(e) !== current),
    );
    let from: Ev;
    if (entered.length > 0) {
      const newest = Math.max(...entered.map((e) => e.created));
      from = earliest(entered.filter((e) => e.created === newest));
    } else {
      from = earliest(inStatus);
    }
    result.push(opened(reason, subscription, from));
  }
  return result;
}

function customerConditions(mine: readonly Ev[], customerId: string): Opened[] {
  const deletions = mine.filter((e) => e.type === 'customer.deleted');
  return deletions.length > 0 ? [opened('customer_deleted', customerId, earliest(deletions))] : [];
}

// ---------------------------------------------------------------------------------------
// Payment methods (docs/behaviour.md#payment-methods)

const LEGACY_BRANDS: ReadonlyMap<string, string> = new Map([
  ['American Express', 'amex'],
  ['Cartes Bancaires', 'cartes_bancaires'],
  ['Diners Club', 'diners'],
  ['Discover', 'discover'],
  ['Eftpos Australia', 'eftpos_au'],
  ['Girocard', 'girocard'],
  ['JCB', 'jcb'],
  ['MasterCard', 'mastercard'],
  ['UnionPay', 'unionpay'],
  ['Visa', 'visa'],
  ['Unknown', 'unknown'],
]);
/** The PaymentMethod `card.brand` words (docs/behaviour.md#the-billing-status). */
const BRAND_WORDS: ReadonlySet<string> = new Set([...LEGACY_BRANDS.values(), 'link']);
/**
 * A legacy word maps; a PaymentMethod word stays; any other brand is matched against the
 * words ignoring case, spaces read as underscores, else it is `unknown`.
 */
function brandOf(brand: string | null): string | null {
  if (brand === null) return null;
  const legacy = LEGACY_BRANDS.get(brand);
  if (legacy) return legacy;
  if (BRAND_WORDS.has(brand)) return brand;
  const folded = brand.toLowerCase().replace(/\s+/g, '_');
  return BRAND_WORDS.has(folded) ? folded : 'unknown';
}

interface Details {
  type: string;
  brand: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
}

const cardDetails = (card: Json | undefined): Omit<Details, 'type'> => ({
  brand: brandOf(text(card, 'brand')),
  last4: text(card, 'last4'),
  expMonth: numberAt(card, 'exp_month'),
  expYear: numberAt(card, 'exp_year'),
});

/**
 * Type, brand, last4 and expiry in the shape the object has: a PaymentMethod keeps a card's
 * under `card`, a card Source under `card`, a legacy Card or bank account at its top level.
 * Decision: a method of another type (sepa_debit, us_bank_account, a non-card Source) shows
 * the `last4` of its type's own sub-object when it has one; brand and expiry stay null.
 */
function detailsOf(o: Json): Details {
  const id = text(o, 'id') ?? '';
  const shape =
    text(o, 'object') ??
    (id.startsWith('pm_')
      ? 'payment_method'
      : id.startsWith('src_')
        ? 'source'
        : id.startsWith('ba_')
          ? 'bank_account'
          : 'card');
  const none = { brand: null, last4: null, expMonth: null, expYear: null };
  if (shape === 'card') return { type: 'card', ...cardDetails(o) };
  if (shape === 'bank_account') return { type: 'bank_account', ...none, last4: text(o, 'last4') };
  const type = text(o, 'type') ?? 'unknown';
  if (type === 'card') return { type, ...cardDetails(child(o, 'card')) };
  return { type, ...none, last4: text(child(o, type), 'last4') };
}

/** First second (UTC) of the month after the expiry month: the method is valid until then. */
function expiryInstant(d: Details): number | null {
  const { expMonth: m, expYear: y } = d;
  if (m === null || y === null || !Number.isInteger(m) || !Number.isInteger(y) || m < 1 || m > 12) {
    return null;
  }
  return Date.UTC(y, m, 1) / 1000; // month index m is the month after m
}

const DELETIONS = new Set(['customer.source.deleted', 'payment_method.detached']);

interface MethodState {
  view: PaymentMethodView;
  instant: number | null;
  /** The earliest `customer.source.expiring` that announced exactly the current expiry. */
  announcement: Ev | null;
  /** The earliest deletion, if any. */
  deletion: Ev | null;
}

/** Newest details: greatest `created`, then the later expiry (none loses), then greatest id. */
function newestDetails(events: readonly Ev[]): Ev {
  const expiry = (e: Ev) => expiryInstant(detailsOf(e.object)) ?? -Infinity;
  return [...events].sort(
    (a, b) => b.created - a.created || expiry(b) - expiry(a) || compare(b.id, a.id),
  )[0]!;
}

function methodStates(mine: readonly Ev[], now: number, window: number): MethodState[] {
  const states: MethodState[] = [];
  const methods = mine.filter((e) => e.kind === 'payment_method' || e.kind === 'source');
  for (const [id, events] of byObject(methods)) {
    const deletions = events.filter((e) => DELETIONS.has(e.type));
    const detailEvents = events.filter((e) => !DELETIONS.has(e.type));
    const details = detailsOf(
      newestDetails(detailEvents.length > 0 ? detailEvents : deletions).object,
    );
    const instant = expiryInstant(details);
    const announcements = events.filter((e) => {
      if (e.type !== 'customer.source.expiring' || details.expMonth === null) return false;
      const announced = detailsOf(e.object);
      return announced.expMonth === details.expMonth && announced.expYear === details.expYear;
    });
    const announcement = announcements.length > 0 ? earliest(announcements) : null;
    const status: PaymentMethodView['status'] =
      deletions.length > 0
        ? 'deleted'
        : instant !== null && now >= instant
          ? 'expired'
          : (instant !== null && instant - now <= window) || announcement !== null
            ? 'expiring'
            : 'active';
    states.push({
      view: {
        id,
        type: details.type,
        status,
        brand: details.brand,
        last4: details.last4,
        expMonth: details.expMonth,
        expYear: details.expYear,
      },
      instant,
      announcement,
      deletion: deletions.length > 0 ? earliest(deletions) : null,
    });
  }
  return states.sort((a, b) => compare(a.view.id, b.view.id));
}

/**
 * Decision (no_valid_payment_method): when several methods stopped being valid at the same
 * latest moment, a deletion among them names the condition (its event id, the smallest if
 * several); otherwise it is dated by an expiry, with no event.
 */
function methodConditions(
  states: readonly MethodState[],
  customerId: string,
  window: number,
): Opened[] {
  const result: Opened[] = [];
  for (const s of states) {
    if (s.view.status !== 'expiring') continue;
    result.push(
      s.announcement
        ? opened('payment_method_expiring', s.view.id, s.announcement)
        : {
            reason: 'payment_method_expiring',
            objectId: s.view.id,
            since: s.instant! - window,
            eventId: null,
          },
    );
  }
  const usable = states.some((s) => s.view.status === 'active' || s.view.status === 'expiring');
  if (states.length > 0 && !usable) {
    // When each method stopped being valid: the earlier of its deletion and its expiry; at
    // the very same second, the deletion (an event) names it.
    const stops = states.map((s) => {
      const deletedAt = s.deletion?.created ?? Infinity;
      const expiredAt = s.instant ?? Infinity;
      return deletedAt <= expiredAt
        ? { at: deletedAt, eventId: s.deletion!.id }
        : { at: expiredAt, eventId: null };
    });
    const last = Math.max(...stops.map((s) => s.at));
    const named = stops
      .filter((s) => s.at === last && s.eventId !== null)
      .map((s) => s.eventId!)
      .sort(compare);
    result.push({
      reason: 'no_valid_payment_method',
      objectId: customerId,
      since: last,
      eventId: named[0] ?? null,
    });
  }
  return result;
}

// ---------------------------------------------------------------------------------------
// The policy (docs/behaviour.md#the-policy-document)

type Placed = { list: 'blockers' | 'warnings'; condition: ReferenceCondition } | null;

/**
 * Where the policy lists a condition at `now`, with `blocksAt` when grace or whileRetrying
 * governs it. whileRetrying governs invoice failures only; a standalone payment's failure
 * has no Stripe retries, so there only grace (if any) holds it.
 */
function place(c: Opened, policy: Policy, now: number): Placed {
  const rule = policy[c.reason];
  const base: ReferenceCondition = {
    reason: c.reason,
    objectId: c.objectId,
    since: c.since,
    eventId: c.eventId,
  };
  if (rule.action === 'ignore') return null;
  if (rule.action === 'warn') return { list: 'warnings', condition: base };
  const graceAt = rule.grace !== null ? c.since + rule.grace : null;
  // undefined: whileRetrying does not govern this condition.
  const retryAt =
    rule.whileRetrying && c.retry ? (c.retry.retrying ? null : c.retry.newestCreated) : undefined;
  if (graceAt === null && retryAt === undefined) return { list: 'blockers', condition: base };
  const blocksAt =
    retryAt === undefined
      ? graceAt
      : graceAt === null
        ? retryAt
        : retryAt === null
          ? graceAt
          : Math.min(graceAt, retryAt);
  return {
    list: blocksAt !== null && now >= blocksAt ? 'blockers' : 'warnings',
    condition: { ...base, blocksAt },
  };
}

// ---------------------------------------------------------------------------------------
// The record itself

function sortConditions(list: ReferenceCondition[]): ReferenceCondition[] {
  return list.sort(
    (a, b) => a.since - b.since || compare(a.objectId, b.objectId) || compare(a.reason, b.reason),
  );
}

const byCommit = (a: { at: Moment; id: string }, b: { at: Moment; id: string }): number =>
  a.at.ms - b.at.ms || compare(a.id, b.id);

export function referenceStatus(input: ReferenceInput): ReferenceStatus | null {
  const { customerId, now, policy } = input;
  const window = input.expiryWarningDays * DAY;

  const all = resolveAll(input, appliedEvents(input));
  const minePlaced = all.filter((r) => r.owner === customerId);
  const mine = minePlaced.map((r) => r.ev);

  // Overrides: one per id, its earliest listing; the latest set or clear wins.
  const overridesById = new Map<string, { o: ReferenceOverride; at: Moment }>();
  for (const o of input.overrides) {
    if (o.customerId !== customerId) continue;
    const at = momentOf(o.setAt, `setAt of ${o.id}`);
    const prior = overridesById.get(o.id);
    if (!prior || at.ms < prior.at.ms) overridesById.set(o.id, { o, at });
  }
  const overrides = [...overridesById.values()].sort((a, b) =>
    byCommit({ at: a.at, id: a.o.id }, { at: b.at, id: b.o.id }),
  );

  // Decision: a record exists from an applied event or an override *set*; clears alone
  // (which the API answers for an unknown customer with 404) create none.
  if (mine.length === 0 && !overrides.some(({ o }) => o.mode !== null)) return null;

  // An expiring override ends at its expiresAt as if cleared then (a later set or clear
  // would be the latest instead).
  const latest = overrides.at(-1)?.o ?? null;
  const override =
    latest !== null &&
    latest.mode !== null &&
    !(latest.expiresAt !== null && latest.expiresAt <= now)
      ? latest
      : null;

  const states = methodStates(mine, now, window);
  const conditions: Opened[] = [
    ...paymentConditions(mine, linkedToInvoices(input, all)),
    ...invoiceConditions(mine),
    ...disputeConditions(mine),
    ...subscriptionConditions(mine),
    ...customerConditions(mine, customerId),
    ...methodConditions(states, customerId, window),
  ];
  const blockers: ReferenceCondition[] = [];
  const warnings: ReferenceCondition[] = [];
  for (const c of conditions) {
    const placed = place(c, policy, now);
    if (placed) (placed.list === 'blockers' ? blockers : warnings).push(placed.condition);
  }
  if (override?.mode === 'deny') {
    blockers.push({
      reason: 'operator_deny',
      objectId: customerId,
      since: Math.floor(momentOf(override.setAt, 'setAt').ms / 1000),
      eventId: null,
    });
  }

  // The next second at which time alone changes the answer.
  const future: number[] = [];
  for (const c of [...blockers, ...warnings]) {
    if (c.blocksAt !== undefined && c.blocksAt !== null) future.push(c.blocksAt);
  }
  for (const s of states) {
    if (s.view.status === 'deleted' || s.instant === null) continue;
    if (s.announcement === null) future.push(s.instant - window);
    future.push(s.instant);
  }
  if (override !== null && override.expiresAt !== null) future.push(override.expiresAt);
  const upcoming = future.filter((t) => t > now);

  // The record's own fields: the last commit, a Stripe event or an operator action.
  const stripeCommits = minePlaced
    .map((r) => ({ at: r.committed, id: r.ev.id, livemode: r.ev.livemode }))
    .sort(byCommit);
  const commits = [...stripeCommits, ...overrides.map(({ o, at }) => ({ at, id: o.id }))].sort(
    byCommit,
  );
  const last = commits.at(-1)!;
  const account = aliasOf(customerId, all);

  return {
    customerId,
    ...(account !== null ? { customerAccount: account } : {}),
    canAllocate: override?.mode === 'allow' ? true : blockers.length === 0,
    blockers: sortConditions(blockers),
    warnings: sortConditions(warnings),
    paymentMethods: states.map((s) => s.view),
    override: override
      ? {
          mode: override.mode!,
          reason: override.reason ?? '',
          setAt: override.setAt,
          expiresAt: override.expiresAt,
        }
      : null,
    livemode: stripeCommits.at(-1)?.livemode ?? false,
    lastEventId: last.id,
    updatedAt: last.at.iso,
    nextChangeAt: upcoming.length > 0 ? Math.min(...upcoming) : null,
  };
}
