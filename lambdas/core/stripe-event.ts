// The Stripe event envelope as the verifier accepts it (docs/behaviour.md#the-webhook-verifier), and small
// readers for the loosely typed objects inside it. Pure: no I/O, no AWS SDK.

export type StripeObject = Record<string, unknown>;

export interface StripeEvent {
  id: string;
  object: 'event';
  type: string;
  created: number;
  livemode: boolean;
  account?: string | null;
  api_version?: string | null;
  data: {
    object: StripeObject;
    previous_attributes?: StripeObject;
  };
}

/** A Stripe customer id as the routes, commands and client accept it: `cus_` + letters and digits. */
export const CUSTOMER_ID = /^cus_[A-Za-z0-9]+$/;

/** An Accounts v2 id, which the customer routes also accept for the customer it names. */
export const ACCOUNT_ID = /^acct_[A-Za-z0-9]+$/;

/**
 * An id as Stripe issues them: letters, digits, `_` and `-`, at most 255 characters
 * (docs/behaviour.md#hostile-and-busy-customers). Anything else never reaches the table.
 */
export const STRIPE_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** How far in the future an event's `created` may be (clock skew): one day. */
export const MAX_CREATED_AHEAD_SECONDS = 86_400;

/**
 * Why an event Stripe would never send is refused at the door, or null: an id a rule reads
 * that is not a Stripe id, or a `created` more than a day ahead of `nowSeconds`.
 */
export function idsAndDatesProblem(
  event: StripeEvent,
  ids: readonly string[],
  nowSeconds: number,
): string | null {
  for (const id of [event.id, ...ids]) {
    if (!STRIPE_ID.test(id)) {
      return id.length > 255
        ? `an id is longer than 255 characters (${id.length})`
        : 'an id holds a character other than letters, digits, "_" and "-"';
    }
  }
  if (!Number.isSafeInteger(event.created) || event.created < 0) {
    return '"created" must be a whole number of seconds';
  }
  if (event.created > nowSeconds + MAX_CREATED_AHEAD_SECONDS) {
    return '"created" is more than a day in the future';
  }
  return null;
}

/** Prefix of the synthetic events `npm run backfill` queues (docs/behaviour.md#backfill). */
export const BACKFILL_ID_PREFIX = 'bf_';

/**
 * Why a parsed JSON value is not a Stripe event, or null when it is one. Processors also
 * accept backfill ids (`bf_...`), which never pass through the verifier.
 */
export function stripeEventProblem(
  value: unknown,
  { allowBackfillIds = false }: { allowBackfillIds?: boolean } = {},
): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'payload is not a JSON object';
  }
  const v = value as Record<string, unknown>;
  if (v.object !== 'event') return 'payload is not a Stripe event: "object" must be "event"';
  const idOk =
    typeof v.id === 'string' &&
    (v.id.startsWith('evt_') || (allowBackfillIds && v.id.startsWith(BACKFILL_ID_PREFIX)));
  if (!idOk) return 'payload is not a Stripe event: "id" must start with "evt_"';
  if (typeof v.type !== 'string' || v.type.length === 0) {
    return 'payload is not a Stripe event: "type" must be a string';
  }
  if (typeof v.created !== 'number' || !Number.isFinite(v.created)) {
    return 'payload is not a Stripe event: "created" must be a number';
  }
  const data = v.data as Record<string, unknown> | undefined;
  if (
    typeof data !== 'object' ||
    data === null ||
    typeof data.object !== 'object' ||
    data.object === null ||
    Array.isArray(data.object)
  ) {
    return 'payload is not a Stripe event: "data.object" must be an object';
  }
  return null;
}

/** A string field, or null when absent or not a string. */
export function str(obj: StripeObject | undefined, key: string): string | null {
  const v = obj?.[key];
  return typeof v === 'string' ? v : null;
}

/** A number field, or null when absent or not a finite number. */
export function num(obj: StripeObject | undefined, key: string): number | null {
  const v = obj?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A nested object field, or undefined. */
export function obj(o: StripeObject | undefined, key: string): StripeObject | undefined {
  const v = o?.[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as StripeObject) : undefined;
}

/**
 * An id that Stripe may send either as a string or, when expanded, as an object with `id`
 * (for example `customer`, `latest_charge`, `payment_intent`).
 */
export function idOf(o: StripeObject | undefined, key: string): string | null {
  const v = o?.[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as StripeObject).id === 'string') {
    return (v as StripeObject).id as string;
  }
  return null;
}
