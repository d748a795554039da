// The single source of truth for which Stripe event types this deployment handles.
// Read by the verifier (routing), the CDK stack (one queue + processor per entry), endpoint
// registration (`enabled_events`), the local twin and the docs. Plain data: no rule code,
// so the verifier bundle stays small. Adding a type is one line here; a new object kind
// also needs its rule file under ./rules (see rules/index.ts).

/** The Stripe object kinds the rules know; each has one file in ./rules. */
export type ObjectKind =
  | 'payment_intent'
  | 'charge'
  | 'invoice'
  | 'dispute'
  | 'payment_method'
  | 'source'
  | 'subscription'
  | 'customer';

export interface RegistryEntry {
  /** The Stripe event type, exactly as in `event.type`. */
  readonly type: string;
  /** Which rule file applies it. */
  readonly kind: ObjectKind;
}

export const REGISTRY: readonly RegistryEntry[] = [
  { type: 'payment_intent.payment_failed', kind: 'payment_intent' },
  { type: 'payment_intent.succeeded', kind: 'payment_intent' },
  { type: 'payment_intent.canceled', kind: 'payment_intent' },
  { type: 'charge.failed', kind: 'charge' },
  { type: 'charge.succeeded', kind: 'charge' },
  { type: 'invoice.payment_failed', kind: 'invoice' },
  { type: 'invoice.marked_uncollectible', kind: 'invoice' },
  { type: 'invoice.payment_action_required', kind: 'invoice' },
  { type: 'invoice.paid', kind: 'invoice' },
  { type: 'invoice.payment_succeeded', kind: 'invoice' },
  { type: 'invoice.voided', kind: 'invoice' },
  { type: 'charge.dispute.created', kind: 'dispute' },
  { type: 'charge.dispute.updated', kind: 'dispute' },
  { type: 'charge.dispute.closed', kind: 'dispute' },
  { type: 'customer.source.created', kind: 'source' },
  { type: 'customer.source.updated', kind: 'source' },
  { type: 'customer.source.expiring', kind: 'source' },
  { type: 'customer.source.deleted', kind: 'source' },
  { type: 'payment_method.attached', kind: 'payment_method' },
  { type: 'payment_method.updated', kind: 'payment_method' },
  { type: 'payment_method.automatically_updated', kind: 'payment_method' },
  { type: 'payment_method.detached', kind: 'payment_method' },
  { type: 'customer.subscription.created', kind: 'subscription' },
  { type: 'customer.subscription.updated', kind: 'subscription' },
  { type: 'customer.subscription.deleted', kind: 'subscription' },
  { type: 'customer.created', kind: 'customer' },
  { type: 'customer.updated', kind: 'customer' },
  { type: 'customer.deleted', kind: 'customer' },
];

const BY_TYPE = new Map(REGISTRY.map((e) => [e.type, e]));

/** The registry entry for an event type, or undefined when no processor handles it. */
export function registryEntry(type: string): RegistryEntry | undefined {
  return BY_TYPE.get(type);
}

export const HANDLED_TYPES: readonly string[] = REGISTRY.map((e) => e.type);

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
