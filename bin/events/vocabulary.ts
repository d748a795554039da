// The words of the event builders a command's help needs (the pre-basil API version, the
// uncollectible reasons, the id prefixes), apart from bin/events/stripe-events so that reading
// them does not load the `stripe` package.

/**
 * The version before 2025-03-31.basil the tests also build: the last one before
 * 2024-09-30.acacia, whose fixtures Stripe published until then.
 */
export const PRE_BASIL_API_VERSION = '2024-06-20';

/** `status_details.uncollectible.reason` of an invoice (API 2026-09-30.endive and later). */
export const UNCOLLECTIBLE_REASONS: readonly string[] = [
  'max_payment_attempts',
  'payment_not_received',
  'subscription_canceled',
  'subscription_paused',
  'user_forgiven',
];

/** The Stripe id prefixes each id option of the builders accepts. */
export const ID_PREFIXES = {
  invoiceId: ['in_'],
  paymentIntentId: ['pi_'],
  subscriptionId: ['sub_'],
  paymentMethodId: ['pm_', 'card_', 'src_'],
  disputeId: ['dp_', 'du_'],
  customerAccount: ['acct_'],
} as const satisfies Readonly<Record<string, readonly string[]>>;
