// `npm run trigger -- <type> --eventbridge --local`: the event the webhook trigger builds (with
// the same ids and fields), wrapped in the EventBridge envelope Stripe's destination produces,
// and posted to the local partner event bus (`npm start -- --ingress eventbridge|both`). Only
// Stripe can put events on a real partner event bus, so there is no AWS target.

import { EVENTBRIDGE_ROUTE } from '../local/front';
import {
  DEFAULT_LOCAL_EVENTBRIDGE_SOURCE,
  EVENTBRIDGE_SOURCE_ENV,
  LOCAL_ACCOUNT_ID,
} from '../local/eventbridge-bus';
import { LOCAL_AWS } from '../local/local-aws';
import { partnerSourceProblem, toEnvelope } from '../../lambdas/eventbridge/envelope';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { EXIT_FAILURE, EXIT_OK, UsageError, type CommandIo } from './command';
import { postEvent } from './post';
import type { Target } from './target';

export interface EventBridgeTriggerRequest {
  /** The Stripe event to deliver, as bin/events/stripe-events built it. */
  event: StripeEvent;
  /** --url, else the local stack's `/eventbridge`. */
  url: string | undefined;
  target: Target | null;
  io: CommandIo;
  fetch: typeof fetch;
}

/** The bus URL of a local stack: its API base + `/eventbridge`. */
export function localBusUrl(target: Target): string {
  return `${target.apiUrl}${EVENTBRIDGE_ROUTE}`;
}

export async function triggerThroughEventBridge(req: EventBridgeTriggerRequest): Promise<number> {
  const { io } = req;
  const url = req.url ?? (req.target?.kind === 'local' ? localBusUrl(req.target) : undefined);
  if (!url) {
    throw new UsageError(
      'only Stripe can put events on a partner event bus in AWS: use --eventbridge with --local (npm start -- --ingress eventbridge), or --url of a local bus',
    );
  }
  const source = (io.env[EVENTBRIDGE_SOURCE_ENV] ?? '').trim() || DEFAULT_LOCAL_EVENTBRIDGE_SOURCE;
  const problem = partnerSourceProblem(source);
  if (problem) throw new UsageError(`${EVENTBRIDGE_SOURCE_ENV} ${problem}, got "${source}"`);

  const { event } = req;
  const envelope = toEnvelope(event, {
    source,
    account: LOCAL_ACCOUNT_ID,
    region: LOCAL_AWS.region,
  });
  const object = event.data.object as { id?: unknown };
  io.err(
    `sending ${event.type} ${event.id} (object ${String(object.id)}, API ${String(event.api_version)}) through ${url}`,
  );
  io.err(`in an EventBridge envelope from ${source}`);

  const response = await postEvent(req.fetch, url, {}, JSON.stringify(envelope), io);
  if (response.status === 404) {
    io.err(
      'trigger: no event bus there: start the local stack with npm start -- --ingress eventbridge (or both)',
    );
    return EXIT_FAILURE;
  }
  if (!response.ok) {
    io.err(`trigger: the bus answered ${response.status}`);
    return EXIT_FAILURE;
  }
  const delivered = (JSON.parse(response.text) as { delivered?: unknown[] }).delivered ?? [];
  if (delivered.length === 0) {
    io.err('trigger: no rule matched (type not enabled, or STRIPE_MODE excludes test-mode events)');
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}
