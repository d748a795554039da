// `npm run register-endpoint -- --eventbridge --aws-account <id> --aws-region <region>`:
// creates or updates the Stripe event destination (API v2, `/v2/core/event_destinations`)
// of type `amazon_eventbridge` for that account and region: snapshot payload, the API
// version the `stripe` package is built for, exactly the enabled event types, events of
// the account itself only. Prints the partner event source Stripe creates, the value of
// `-c eventBridgeSource=...` for the deploy that associates it (within 7 days).

import type Stripe from 'stripe';
import { parseEnabledTypes } from '../../lambdas/core/registry';
import { STRIPE_PARTNER_SOURCE_PREFIX } from '../../lambdas/eventbridge/envelope';
import { PINNED_API_VERSION } from '../events/stripe-events';
import { UsageError } from './command';

/** The name our destinations carry in Stripe (with the account and region, it finds ours). */
export const DESTINATION_NAME = 'stripe-billing-gate';

type EventDestination = Stripe.V2.Core.EventDestination;

export interface EventDestinationRequest {
  /** 12-digit AWS account id. */
  awsAccount: string;
  awsRegion: string;
  /** Registry order. */
  enabledEvents: readonly string[];
}

export function checkAwsAccount(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--aws-account is required with --eventbridge');
  if (!/^\d{12}$/.test(value)) {
    throw new UsageError(`--aws-account must be a 12-digit AWS account id, got "${value}"`);
  }
  return value;
}

export function checkAwsRegion(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--aws-region is required with --eventbridge');
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(value)) {
    throw new UsageError(`--aws-region must be an AWS region such as eu-west-1, got "${value}"`);
  }
  return value;
}

/** `--event-types a,b` as `-c enabledEventTypes=a,b` reads it; every handled type by default. */
export function checkEventTypes(value: string | undefined): string[] {
  try {
    return parseEnabledTypes(value);
  } catch (err) {
    throw new UsageError(`--event-types: ${(err as Error).message}`);
  }
}

/** The region of an event source ARN, `arn:aws:events:<region>::event-source/...`. */
function regionOfSourceArn(arn: string | undefined): string | undefined {
  return arn?.split(':')[3];
}

/** The partner event source name: from the ARN Stripe reports, else from the destination id. */
export function partnerEventSourceOf(destination: EventDestination): string {
  const arn = destination.amazon_eventbridge?.aws_event_source_arn;
  const name = arn?.split(':event-source/')[1];
  return name ?? `${STRIPE_PARTNER_SOURCE_PREFIX}${destination.id}`;
}

/** Ours, for that account and region, and still able to deliver (its source not deleted). */
function isReusable(d: EventDestination, request: EventDestinationRequest): boolean {
  const aws = d.amazon_eventbridge;
  return (
    d.type === 'amazon_eventbridge' &&
    d.name === DESTINATION_NAME &&
    d.event_payload === 'snapshot' &&
    aws?.aws_account_id === request.awsAccount &&
    regionOfSourceArn(aws.aws_event_source_arn) === request.awsRegion &&
    aws.aws_event_source_status !== 'deleted'
  );
}

export type DestinationOutcome =
  | { action: 'created'; destination: EventDestination }
  | {
      action: 'updated';
      destination: EventDestination;
      added: string[];
      removed: string[];
      reenabled: boolean;
    };

export async function registerEventDestination(
  stripe: Stripe,
  request: EventDestinationRequest,
  progress: (line: string) => void,
): Promise<DestinationOutcome> {
  const matches: EventDestination[] = [];
  for await (const d of stripe.v2.core.eventDestinations.list({ limit: 20 })) {
    if (isReusable(d, request)) matches.push(d);
  }
  if (matches.length > 1) {
    progress(
      `  ${matches.length} destinations match (${matches.map((d) => d.id).join(', ')}); updating ${matches[0]!.id}`,
    );
  }
  const existing = matches[0];
  if (!existing) {
    const destination = await stripe.v2.core.eventDestinations.create({
      type: 'amazon_eventbridge',
      name: DESTINATION_NAME,
      description: 'stripe-billing-gate: billing status per customer',
      enabled_events: [...request.enabledEvents],
      event_payload: 'snapshot',
      snapshot_api_version: PINNED_API_VERSION,
      // Connect events are out of scope: only the account's own events.
      events_from: ['@self'],
      amazon_eventbridge: { aws_account_id: request.awsAccount, aws_region: request.awsRegion },
    });
    return { action: 'created', destination };
  }
  const before = new Set(existing.enabled_events);
  const after = new Set(request.enabledEvents);
  let destination = await stripe.v2.core.eventDestinations.update(existing.id, {
    enabled_events: [...request.enabledEvents],
  });
  const reenabled = destination.status === 'disabled';
  if (reenabled) destination = await stripe.v2.core.eventDestinations.enable(existing.id);
  return {
    action: 'updated',
    destination,
    added: [...after].filter((t) => !before.has(t)),
    removed: [...before].filter((t) => !after.has(t)),
    reenabled,
  };
}

export function describeDestination(outcome: DestinationOutcome): string[] {
  const d = outcome.destination;
  const source = partnerEventSourceOf(d);
  const status = d.amazon_eventbridge?.aws_event_source_status ?? 'unknown';
  const lines =
    outcome.action === 'created'
      ? [
          `created event destination ${d.id} (amazon_eventbridge, snapshot, API version ${d.snapshot_api_version ?? PINNED_API_VERSION}): ${d.enabled_events.length} event types`,
        ]
      : [
          `updated event destination ${d.id}: ${d.enabled_events.length} event types (${outcome.added.length} added, ${outcome.removed.length} removed)${outcome.reenabled ? ', enabled again' : ''}`,
        ];
  if (d.snapshot_api_version && d.snapshot_api_version !== PINNED_API_VERSION) {
    lines.push(
      `note: it renders events with API version ${d.snapshot_api_version}, not ${PINNED_API_VERSION}, and a destination's version cannot change; the processors read only fields older versions also have.`,
    );
  }
  lines.push(`partner event source: ${source} (${status})`);
  if (status !== 'active') {
    lines.push(
      "Associate it within 7 days of the destination's creation, or AWS deletes it and Stripe disables the destination. Deploying the stack with it makes the association:",
      `  npx cdk deploy -c ingress=eventbridge -c eventBridgeSource=${source}`,
      '  (ingress=both keeps the webhook endpoint as well, while you move over)',
    );
  } else {
    lines.push(`the stack's eventBridgeSource must be ${source}`);
  }
  return lines;
}
