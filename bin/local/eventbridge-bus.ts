// `npm start`'s stand-in for the partner event bus of Stripe's EventBridge destination:
// `POST /eventbridge` takes one EventBridge envelope, evaluates the same rules the stack
// synthesizes (lambdas/eventbridge/rules.ts) and sends `$.detail` to each matching rule's
// queue, as the rules' SQS targets do in AWS: the body only, no message attributes. The
// queues get the same resource policy as in AWS, so `npm run redrive` sees that EventBridge
// may dead-letter into them.

import { SendMessageCommand, SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { StripeMode } from '../../lambdas/config';
import { ConfigError } from '../../lambdas/core/errors';
import { startArguments } from './config';
import { typeSlug } from '../../lambdas/core/registry';
import {
  MAX_EVENT_BYTES,
  envelopeProblem,
  partnerSourceProblem,
  type EventBridgeEnvelope,
} from '../../lambdas/eventbridge/envelope';
import {
  DEFAULT_INGRESS,
  INGRESS_MODES,
  isIngressMode,
  type IngressMode,
} from '../../lambdas/eventbridge/ingress-mode';
import { deliveriesFor, stripeRules } from '../../lambdas/eventbridge/rules';
import type { Logger } from '../../lambdas/observability';
import { LOCAL_AWS } from './local-aws';
import type { QueuePair } from './provision';

/** The partner event source the local bus stands for unless EVENTBRIDGE_SOURCE names another. */
export const DEFAULT_LOCAL_EVENTBRIDGE_SOURCE = 'aws.partner/stripe.com/ed_test_local';
/** The account id the local rule ARNs carry (no AWS account is involved). */
export const LOCAL_ACCOUNT_ID = '000000000000';

export const INGRESS_ENV = 'INGRESS';
export const EVENTBRIDGE_SOURCE_ENV = 'EVENTBRIDGE_SOURCE';

export interface LocalIngress {
  mode: IngressMode;
  /** The partner event source the local bus accepts. */
  source: string;
}

/**
 * `npm start -- --ingress <mode>` (or `INGRESS=<mode>`; the flag wins) and
 * `EVENTBRIDGE_SOURCE`. Throws a ConfigError naming the flag or variable.
 */
export function localIngressConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LocalIngress {
  const fromFlag = startArguments(argv).ingress;
  const raw = (fromFlag ?? env[INGRESS_ENV] ?? '').trim() || DEFAULT_INGRESS;
  if (!isIngressMode(raw)) {
    const name = fromFlag === undefined ? INGRESS_ENV : '--ingress';
    throw new ConfigError(
      `${name} must be one of ${INGRESS_MODES.map((m) => `"${m}"`).join(', ')}, got "${raw}"`,
    );
  }
  const source = (env[EVENTBRIDGE_SOURCE_ENV] ?? '').trim() || DEFAULT_LOCAL_EVENTBRIDGE_SOURCE;
  const problem = partnerSourceProblem(source);
  if (problem) throw new ConfigError(`${EVENTBRIDGE_SOURCE_ENV} ${problem}, got "${source}"`);
  return { mode: raw, source };
}

/** The ARN the local rule of one type stands for (rule names as the stack's construct ids). */
export function localRuleArn(source: string, type: string): string {
  return `arn:aws:events:${LOCAL_AWS.region}:${LOCAL_ACCOUNT_ID}:rule/${source}/${typeSlug(type)}`;
}

/**
 * Gives each queue and DLQ the resource policy the stack gives them: events.amazonaws.com
 * may send, for its type's rule only.
 */
export async function admitEventBridgeRules(
  sqs: SQSClient,
  queues: readonly QueuePair[],
  source: string,
): Promise<void> {
  for (const q of queues) {
    for (const [url, arn] of [
      [q.queueUrl, q.queueArn],
      [q.dlqUrl, q.dlqArn],
    ] as const) {
      const policy = {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: `EventBridge-${typeSlug(q.type)}`,
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: arn,
            Condition: { ArnEquals: { 'aws:SourceArn': localRuleArn(source, q.type) } },
          },
        ],
      };
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: url,
          Attributes: { Policy: JSON.stringify(policy) },
        }),
      );
    }
  }
}

export interface LocalEventBusOptions {
  source: string;
  stripeMode: StripeMode | null;
  /** One per enabled type: the rules exist for these only. */
  queues: readonly QueuePair[];
  sqs: SQSClient;
  logger: Logger;
}

type Result = APIGatewayProxyStructuredResultV2;

const json = (statusCode: number, body: unknown): Result => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The handler behind `POST /eventbridge`. */
export function makeLocalEventBus(options: LocalEventBusOptions) {
  const rules = stripeRules(
    options.queues.map((q) => q.type),
    { source: options.source, stripeMode: options.stripeMode },
  );
  const queueOf = new Map(options.queues.map((q) => [q.type, q.queueUrl]));
  const { logger } = options;

  return async (event: APIGatewayProxyEventV2): Promise<Result> => {
    if (event.requestContext.http.method.toUpperCase() !== 'POST') {
      return { ...json(405, { error: 'POST one EventBridge event' }), headers: { allow: 'POST' } };
    }
    const raw = event.body ?? '';
    const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
    if (bytes.length > MAX_EVENT_BYTES) {
      return json(413, { error: `an EventBridge event is at most ${MAX_EVENT_BYTES} bytes` });
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(bytes.toString('utf8'));
    } catch {
      return json(400, { error: 'not JSON' });
    }
    const problem = envelopeProblem(envelope);
    if (problem) return json(400, { error: problem });
    const e = envelope as EventBridgeEnvelope;
    // A partner event bus only ever carries its own partner event source.
    if (e.source !== options.source) {
      return json(400, {
        error: `this bus receives events of ${options.source} only (EVENTBRIDGE_SOURCE), got ${e.source}`,
      });
    }
    const deliveries = deliveriesFor(e, rules);
    for (const d of deliveries) {
      try {
        await options.sqs.send(
          new SendMessageCommand({ QueueUrl: queueOf.get(d.eventType)!, MessageBody: d.body }),
        );
      } catch (err) {
        logger.error('eventbridge delivery failed', {
          eventId: e.detail.id,
          eventType: d.eventType,
          error: (err as Error).name,
        });
        return json(503, { error: `could not deliver ${e.detail.id} to its queue` });
      }
    }
    logger.info('eventbridge', {
      eventId: e.detail.id,
      eventType: e['detail-type'],
      delivered: deliveries.length,
    });
    return json(200, {
      received: true,
      id: e.id,
      eventId: e.detail.id,
      delivered: deliveries.map((d) => d.eventType),
    });
  };
}
