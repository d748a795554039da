// Reads a payment method's details (type, brand, last4, expiry) from any of the object
// shapes Stripe sends for it: PaymentMethod, legacy Card, Source, legacy bank account.

import type { Fact, FactData } from '../facts';
import { idOf, num, obj, str, type StripeEvent, type StripeObject } from '../stripe-event';
import { ids, makeFact } from './common';

/**
 * Legacy Card brand names -> PaymentMethod `card.brand` words (CONTRACT section 4). A Map,
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

/** The fact of any payment-method or source event: the method's details, indexed by its id. */
export function methodFact(event: StripeEvent): Fact {
  const methodId = idOf(event.data.object, 'id') ?? event.id;
  return makeFact(event, {
    objectId: methodId,
    ref: methodId,
    data: methodDetails(event.data.object),
  });
}

/** A method event ties its method to its customer. */
export const methodRevealKeys = (event: StripeEvent): string[] =>
  ids(idOf(event.data.object, 'id'));
