// The single source of truth for which Stripe event types this deployment handles.
// Read by the verifier (routing), the CDK stack (one queue + processor per entry, and which
// of them may read the Stripe API key), endpoint registration (`enabled_events`), the rules
// (each type's meaning), the event builders, the local twin and the docs. Plain data: no rule
// code, so the verifier bundle stays small. Adding a type whose meaning exists is one line
// here; a new meaning also needs its handling in the kind's rule, and a new object kind its
// own rule file under ./rules (see rules/index.ts).

/** The Stripe object kinds the rules know; each has one file in ./rules. */
export type ObjectKind =
  | 'payment_intent'
  | 'charge'
  | 'invoice'
  | 'invoice_payment'
  | 'dispute'
  | 'payment_method'
  | 'source'
  | 'subscription'
  | 'customer';

/**
 * What an event type means to its kind's rule. The rule reads each fact by its meaning, never
 * by its type, so a new type with an existing meaning is one registry line.
 */
export interface Meanings {
  /** `failed` blocks until the PaymentIntent succeeds or is canceled (both terminal). */
  payment_intent: 'failed' | 'succeeded' | 'canceled';
  /** Legacy Charges API payments; a charge of a PaymentIntent only says whose charge it is. */
  charge: 'failed' | 'succeeded';
  /** `settled` is terminal (paid or void); `overdue`: a sent invoice is past its due date. */
  invoice: 'failed' | 'uncollectible' | 'action_required' | 'settled' | 'overdue';
  /** An invoice's payment: links its PaymentIntent to the invoice (and names no customer). */
  invoice_payment: 'paid';
  /** `updated` opens nothing; it closes the dispute when its status says so. */
  dispute: 'opened' | 'updated' | 'closed';
  /** `details` come from the newest event; `deleted` is terminal. */
  payment_method: 'details' | 'deleted';
  /** As payment methods, and `expiring` announces the current expiry (legacy cards only). */
  source: 'details' | 'expiring' | 'deleted';
  /** Each carries the subscription's status; `created` enters it, `deleted` means canceled. */
  subscription: 'created' | 'updated' | 'deleted';
  /** `record`: the record exists; `deleted` blocks for good. */
  customer: 'record' | 'deleted';
}

/**
 * What a processor of the type may ask the Stripe API (with a key configured): `charge`, the
 * customer of a dispute's charge; `invoice_payment`, the invoice a failed PaymentIntent pays.
 * Types without one never get the API key.
 */
export type StripeApiUse = 'charge' | 'invoice_payment';

interface EntryOf<K extends ObjectKind> {
  /** The Stripe event type, exactly as in `event.type`. */
  readonly type: string;
  /** Which rule file applies it. */
  readonly kind: K;
  /** What it means to that rule. */
  readonly meaning: Meanings[K];
  /** What its processor may look up in the Stripe API. @default - nothing */
  readonly stripeApi?: StripeApiUse;
}

export type RegistryEntry = { [K in ObjectKind]: EntryOf<K> }[ObjectKind];

export const REGISTRY: readonly RegistryEntry[] = [
  {
    type: 'payment_intent.payment_failed',
    kind: 'payment_intent',
    meaning: 'failed',
    stripeApi: 'invoice_payment',
  },
  { type: 'payment_intent.succeeded', kind: 'payment_intent', meaning: 'succeeded' },
  { type: 'payment_intent.canceled', kind: 'payment_intent', meaning: 'canceled' },
  { type: 'charge.failed', kind: 'charge', meaning: 'failed' },
  { type: 'charge.succeeded', kind: 'charge', meaning: 'succeeded' },
  { type: 'invoice.payment_failed', kind: 'invoice', meaning: 'failed' },
  { type: 'invoice.marked_uncollectible', kind: 'invoice', meaning: 'uncollectible' },
  { type: 'invoice.payment_action_required', kind: 'invoice', meaning: 'action_required' },
  { type: 'invoice.paid', kind: 'invoice', meaning: 'settled' },
  { type: 'invoice.payment_succeeded', kind: 'invoice', meaning: 'settled' },
  { type: 'invoice.voided', kind: 'invoice', meaning: 'settled' },
  { type: 'invoice.overdue', kind: 'invoice', meaning: 'overdue' },
  { type: 'invoice_payment.paid', kind: 'invoice_payment', meaning: 'paid' },
  { type: 'charge.dispute.created', kind: 'dispute', meaning: 'opened', stripeApi: 'charge' },
  { type: 'charge.dispute.updated', kind: 'dispute', meaning: 'updated', stripeApi: 'charge' },
  { type: 'charge.dispute.closed', kind: 'dispute', meaning: 'closed', stripeApi: 'charge' },
  { type: 'customer.source.created', kind: 'source', meaning: 'details' },
  { type: 'customer.source.updated', kind: 'source', meaning: 'details' },
  { type: 'customer.source.expiring', kind: 'source', meaning: 'expiring' },
  { type: 'customer.source.deleted', kind: 'source', meaning: 'deleted' },
  { type: 'payment_method.attached', kind: 'payment_method', meaning: 'details' },
  { type: 'payment_method.updated', kind: 'payment_method', meaning: 'details' },
  { type: 'payment_method.automatically_updated', kind: 'payment_method', meaning: 'details' },
  { type: 'payment_method.detached', kind: 'payment_method', meaning: 'deleted' },
  { type: 'customer.subscription.created', kind: 'subscription', meaning: 'created' },
  { type: 'customer.subscription.updated', kind: 'subscription', meaning: 'updated' },
  { type: 'customer.subscription.deleted', kind: 'subscription', meaning: 'deleted' },
  { type: 'customer.created', kind: 'customer', meaning: 'record' },
  { type: 'customer.updated', kind: 'customer', meaning: 'record' },
  { type: 'customer.deleted', kind: 'customer', meaning: 'deleted' },
];

const BY_TYPE = new Map(REGISTRY.map((e) => [e.type, e]));

/** The registry entry for an event type, or undefined when no processor handles it. */
export function registryEntry(type: string): RegistryEntry | undefined {
  return BY_TYPE.get(type);
}

export const HANDLED_TYPES: readonly string[] = REGISTRY.map((e) => e.type);

/** Each type of one kind and what it means to that kind's rule. */
export function meaningsOf<K extends ObjectKind>(kind: K): ReadonlyMap<string, Meanings[K]> {
  const meanings = new Map<string, Meanings[K]>();
  for (const e of REGISTRY) if (e.kind === kind) meanings.set(e.type, e.meaning as Meanings[K]);
  return meanings;
}

/** Whether a type's processor may call the Stripe API (and so may read the API key). */
export function usesStripeApi(type: string): boolean {
  return registryEntry(type)?.stripeApi !== undefined;
}

/**
 * The short, resource-name-safe id of an event type, used for queue names, function ids
 * and metric dimensions: `charge.dispute.created` -> `charge-dispute-created`.
 */
export function typeSlug(type: string): string {
  return type.replace(/[^a-zA-Z0-9]+/g, '-');
}

/**
 * Parses a comma-separated subset of the registry (configuration `ENABLED_EVENT_TYPES` /
 * context `enabledEventTypes`); empty or undefined means every type. Throws naming the
 * unknown types.
 */
export function parseEnabledTypes(value: string | readonly string[] | undefined): string[] {
  const items = (typeof value === 'string' ? value.split(',') : (value ?? []))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) return HANDLED_TYPES.slice();
  const unknown = items.filter((t) => !BY_TYPE.has(t));
  if (unknown.length > 0) {
    throw new Error(
      `unknown event type(s) ${unknown.join(', ')}: expected a subset of ${HANDLED_TYPES.join(', ')}`,
    );
  }
  return HANDLED_TYPES.filter((t) => items.includes(t));
}
