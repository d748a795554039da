// The entry payment methods and sources share (a card can receive both source and
// payment-method events): its details from any of the object shapes Stripe sends for it
// (PaymentMethod, legacy Card, Source, legacy bank account), from its newest event; its
// deletion; and, at reading time, its status (active, expiring, expired, deleted) and warnings.

import type { EntryView, KindRule, MeaningOf, MethodEntry, RawCondition } from '../entries';
import type { AppliedFact, Fact, FactData, PaymentMethodView } from '../facts';
import { compareIds, condition, firstOpener } from '../ordering';
import { idOf, num, obj, str, type StripeEvent, type StripeObject } from '../stripe-event';
import { dataInt, dataStr, ids, makeFact, objectIds, withMeaning } from './common';

/**
 * Legacy Card brand names -> PaymentMethod `card.brand` words. A Map,
 * so that a brand such as "constructor" cannot hit an object prototype key.
 */
export const LEGACY_BRANDS: ReadonlyMap<string, string> = new Map([
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

const PAYMENT_METHOD_BRANDS = new Set([
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
]);

/**
 * A brand in PaymentMethod words, whichever vocabulary the object used. A brand neither
 * vocabulary knows becomes `unknown`, the word Stripe itself uses for it.
 */
export function normalizeBrand(brand: string | null): string | null {
  if (brand === null) return null;
  const mapped = LEGACY_BRANDS.get(brand);
  if (mapped) return mapped;
  if (PAYMENT_METHOD_BRANDS.has(brand)) return brand;
  const lower = brand.toLowerCase().replace(/\s+/g, '_');
  return PAYMENT_METHOD_BRANDS.has(lower) ? lower : 'unknown';
}

export interface MethodDetails extends FactData {
  methodType: string;
  brand: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
}

function cardDetails(type: string, card: StripeObject | undefined): MethodDetails {
  return {
    methodType: type,
    brand: normalizeBrand(str(card, 'brand')),
    last4: str(card, 'last4'),
    expMonth: num(card, 'exp_month'),
    expYear: num(card, 'exp_year'),
  };
}

function otherDetails(type: string, sub: StripeObject | undefined): MethodDetails {
  return { methodType: type, brand: null, last4: str(sub, 'last4'), expMonth: null, expYear: null };
}

/** Details of the method an event is about. */
export function methodDetails(o: StripeObject): MethodDetails {
  const objectType = str(o, 'object');
  if (objectType === 'card') return cardDetails('card', o);
  if (objectType === 'bank_account') return otherDetails('bank_account', o);
  // PaymentMethod and Source both name their type and keep details under it.
  const type = str(o, 'type') ?? objectType ?? 'unknown';
  const sub = obj(o, type);
  return type === 'card' ? cardDetails('card', sub) : otherDetails(type, sub);
}

/**
 * What a method event means: its details, an expiry announcement (which also carries the
 * details), or the method's deletion (terminal: Stripe cannot re-attach it).
 */
export type MethodMeaning = 'details' | 'expiring' | 'deleted';

/** The fact of any payment-method or source event: the method's details. */
function methodFact(event: StripeEvent): Fact {
  return makeFact(event, { data: methodDetails(event.data.object) });
}

/** A method event ties its method to its customer. */
const methodRevealKeys = (event: StripeEvent): string[] => ids(idOf(event.data.object, 'id'));

/** First second (UTC) of the month after the expiry month: the card is valid until then. */
export function expiryInstant(expMonth: number | null, expYear: number | null): number | null {
  if (expMonth === null || expYear === null || expMonth < 1 || expMonth > 12) return null;
  return Date.UTC(expYear, expMonth, 1) / 1000; // month index expMonth = the next month
}

/** At equal created, an event without an expiry loses to any event that has one. */
const expiryKey = (f: Fact) =>
  expiryInstant(dataInt(f, 'expMonth'), dataInt(f, 'expYear')) ?? Number.MIN_SAFE_INTEGER;

/** Newest details: greatest created, then the later expiry, then the greatest event id. */
function newestDetails(facts: readonly AppliedFact[]): AppliedFact {
  return facts
    .slice()
    .sort(
      (a, b) =>
        b.created - a.created || expiryKey(b) - expiryKey(a) || compareIds(b.eventId, a.eventId),
    )[0]!;
}

/** Every fact of one method, whichever kind (source or payment method) sent it. */
function foldMethod(facts: readonly AppliedFact[], meaningOf: MeaningOf): MethodEntry | null {
  if (facts.length === 0) return null;
  const deletions = withMeaning(facts, meaningOf, 'deleted');
  const detailed = withMeaning(facts, meaningOf, 'details', 'expiring');
  // A method known only from a deletion takes its details from that event.
  const details = newestDetails(detailed.length > 0 ? detailed : deletions);
  const expMonth = dataInt(details, 'expMonth');
  const expYear = dataInt(details, 'expYear');
  const announcements = withMeaning(facts, meaningOf, 'expiring').filter(
    (f) =>
      expMonth !== null && dataInt(f, 'expMonth') === expMonth && dataInt(f, 'expYear') === expYear,
  );
  return {
    kind: 'method',
    type: dataStr(details, 'methodType') ?? 'unknown',
    brand: dataStr(details, 'brand'),
    last4: dataStr(details, 'last4'),
    expMonth,
    expYear,
    deleted: firstOpener(deletions),
    announced: firstOpener(announcements),
  };
}

/** The rule of a method kind: the shared extraction and fold, with the kind's meanings. */
export function methodRule(
  kind: 'payment_method' | 'source',
  meanings: ReadonlyMap<string, MethodMeaning>,
  resolveCustomer: KindRule['resolveCustomer'],
): KindRule {
  return {
    kind,
    meanings,
    resolveCustomer,
    toFact: methodFact,
    revealKeys: methodRevealKeys,
    idsRead: (event) => objectIds(event, idOf(event.data.previous_attributes, 'customer')),
    entryKind: 'method',
    fold: foldMethod,
    customerEffect: () => ({}),
  };
}

interface MethodState {
  view: PaymentMethodView;
  entry: MethodEntry;
  instant: number | null;
}

function methodState(id: string, entry: MethodEntry, now: number, window: number): MethodState {
  const instant = expiryInstant(entry.expMonth, entry.expYear);
  const status: PaymentMethodView['status'] =
    entry.deleted !== null
      ? 'deleted'
      : instant !== null && instant <= now
        ? 'expired'
        : (instant !== null && instant - now <= window) || entry.announced !== null
          ? 'expiring'
          : 'active';
  const { type, brand, last4, expMonth, expYear } = entry;
  return { view: { id, type, status, brand, last4, expMonth, expYear }, entry, instant };
}

/** When a method stopped being valid: the earlier of its deletion and its expiry instant. */
type Stop = { created: number; eventId: string | null };

function stoppedAt(s: MethodState): Stop {
  const deletedAt = s.entry.deleted?.created ?? Infinity;
  const expiredAt = s.instant ?? Infinity;
  // At the very same second the deletion is named, since it is an event with an id.
  return deletedAt <= expiredAt
    ? { created: deletedAt, eventId: s.entry.deleted?.eventId ?? null }
    : { created: expiredAt, eventId: null };
}

/**
 * Whether stop `a` dates `no_valid_payment_method` rather than `b`: the later moment; at the
 * same moment a deletion (an event) rather than an expiry, and the smaller event id among
 * deletions (docs/behaviour.md#the-billing-status: among events with the same `created`, the
 * smallest id).
 */
export function namesStop(
  a: { time: number; eventId: string | null },
  b: { time: number; eventId: string | null },
): boolean {
  if (a.time !== b.time) return a.time > b.time;
  if (a.eventId === null || b.eventId === null) return a.eventId !== null && b.eventId === null;
  return compareIds(a.eventId, b.eventId) < 0;
}

/** Future moments at which a method's status changes: its window opening, its expiry. */
function changesOf(s: MethodState, now: number, window: number): number[] {
  if (s.entry.deleted !== null || s.instant === null) return [];
  const moments = s.entry.announced === null ? [s.instant - window, s.instant] : [s.instant];
  return moments.filter((t) => t > now);
}

export const methodView: EntryView<MethodEntry> = {
  conditions(entries, ctx) {
    const states = entries
      .map(([id, entry]) => methodState(id, entry, ctx.now, ctx.warningWindow))
      .sort((a, b) => compareIds(a.view.id, b.view.id));
    const conditions: RawCondition[] = [];
    const changesAt: number[] = [];
    for (const s of states) {
      for (const t of changesOf(s, ctx.now, ctx.warningWindow)) changesAt.push(t);
      if (s.view.status !== 'expiring') continue;
      conditions.push(
        s.entry.announced
          ? condition('payment_method_expiring', s.view.id, s.entry.announced)
          : {
              reason: 'payment_method_expiring',
              objectId: s.view.id,
              since: s.instant! - ctx.warningWindow,
              eventId: null,
            },
      );
    }
    const usable = states.some((s) => s.view.status === 'active' || s.view.status === 'expiring');
    // The latest stop across methods; among equal moments a deletion, the smallest event id.
    let last: Stop | null = null;
    for (const s of states) {
      const at = stoppedAt(s);
      if (
        !last ||
        namesStop(
          { time: at.created, eventId: at.eventId },
          { time: last.created, eventId: last.eventId },
        )
      ) {
        last = at;
      }
    }
    return {
      conditions,
      paymentMethods: states.map((s) => s.view),
      changesAt,
      methods: {
        known: states.length > 0,
        usable,
        lastStop:
          last && Number.isFinite(last.created)
            ? { time: last.created, eventId: last.eventId }
            : null,
      },
    };
  },
};
