// How Stripe's events come in: signed webhooks through the public endpoint, Stripe's
// Amazon EventBridge destination through the partner event bus, or both at once (while
// moving from one to the other). Read by the stack's configuration and by `npm start`.

export const INGRESS_MODES = ['webhook', 'eventbridge', 'both'] as const;
export type IngressMode = (typeof INGRESS_MODES)[number];
export const DEFAULT_INGRESS: IngressMode = 'webhook';

export function isIngressMode(value: string): value is IngressMode {
  return (INGRESS_MODES as readonly string[]).includes(value);
}

/** The public webhook route, its verifier and signing secret exist. */
export function acceptsWebhooks(mode: IngressMode): boolean {
  return mode !== 'eventbridge';
}

/** The partner event bus and its rules exist. */
export function acceptsEventBridge(mode: IngressMode): boolean {
  return mode !== 'webhook';
}
