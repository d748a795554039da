// Sections 5 and 6: AWS cost per million webhooks and per million status reads, from the
// counts measured in the other sections and the dated price table (prices.ts).

import type { Meter } from './ddb-meter';
import type { FunctionRun, FunctionRuns } from './function-runs';
import {
  LOG_EVENT_OVERHEAD_BYTES,
  PRICES,
  lambdaDurationPerMillion,
  logsPerMillion,
} from './prices';

export type Ingress = 'webhook' | 'eventbridge';

export interface CostInputs {
  /** New design, per applied event (weighted mix), at the largest history size. */
  readonly apply: Meter;
  readonly runs: FunctionRuns;
  /** Bytes of one access log line of a webhook POST and of a status GET. */
  readonly webhookAccessLogBytes: number;
  readonly statusAccessLogBytes: number;
  /** Read units of one status GetItem, strongly and eventually consistent. */
  readonly statusReadUnits: { consistent: number; eventual: number };
}

export interface CostPart {
  readonly part: string;
  readonly dollars: number;
  /** How the figure is made up, for the report. */
  readonly basis: string;
}

export interface WebhookCost {
  readonly ingress: Ingress;
  readonly batch: number;
  readonly parts: readonly CostPart[];
  readonly total: number;
  /** Log bytes per webhook, all functions and the access log. */
  readonly logBytes: number;
}

/** API Gateway + one SQS send + one verifier invocation + one write unit. */
export const COST_FLOOR =
  PRICES.httpApiPerMillion +
  PRICES.sqsRequestsPerMillion +
  PRICES.lambdaRequestsPerMillion +
  PRICES.dynamoWritePerMillion;
export const COST_BUDGET_RATIO = 1.45;

const lambda = (run: FunctionRun) =>
  PRICES.lambdaRequestsPerMillion + lambdaDurationPerMillion(run.billedMs);

export function webhookCost(inputs: CostInputs, ingress: Ingress, batch: 1 | 10): WebhookCost {
  const { apply, runs } = inputs;
  const processor = batch === 10 ? runs.processorBatch10 : runs.processorBatch1;
  const flips = apply.flips;
  const writeUnits = apply.writeUnits + apply.indexWriteUnits;
  const viaWebhook = ingress === 'webhook';
  const logBytes =
    (viaWebhook
      ? runs.verifier.logBytes + inputs.webhookAccessLogBytes + LOG_EVENT_OVERHEAD_BYTES
      : 0) +
    processor.logBytes / batch +
    flips * runs.notifier.logBytes;
  const parts: CostPart[] = viaWebhook
    ? [
        {
          part: 'API Gateway (HTTP API)',
          dollars: PRICES.httpApiPerMillion,
          basis: 'one request per webhook',
        },
        {
          part: 'Lambda: verifier',
          dollars: lambda(runs.verifier),
          basis: `one invocation, ${runs.verifier.billedMs} ms billed`,
        },
      ]
    : [
        {
          part: 'EventBridge partner events',
          dollars: PRICES.eventBridgePartnerPerMillion,
          basis: "one event (under 64 KB); the rule's delivery to SQS is free",
        },
      ];
  parts.push(
    { part: 'SQS: send', dollars: PRICES.sqsRequestsPerMillion, basis: 'one SendMessage' },
    {
      part: 'SQS: receive + delete',
      dollars: (2 / batch) * PRICES.sqsRequestsPerMillion,
      basis: `one ReceiveMessage and one DeleteMessageBatch per ${batch === 1 ? 'event' : 'batch of 10'}`,
    },
    {
      part: 'Lambda: processor',
      dollars: lambda(processor) / batch,
      basis: `one invocation per ${batch === 1 ? 'event' : 'batch of 10'}, ${processor.billedMs} ms billed`,
    },
    {
      part: 'DynamoDB: writes',
      dollars: writeUnits * PRICES.dynamoWritePerMillion,
      basis: `${writeUnits.toFixed(2)} write units per event`,
    },
    {
      part: 'DynamoDB: reads',
      dollars: apply.readUnits * PRICES.dynamoReadPerMillion,
      basis: `${apply.readUnits.toFixed(2)} read units per event`,
    },
    {
      part: 'notifier: Lambda + SNS (+ KMS)',
      dollars:
        flips *
        (lambda(runs.notifier) + PRICES.snsPublishPerMillion + PRICES.kmsPerMillionRequests),
      basis: `${flips.toFixed(3)} canAllocate changes per event, each one invocation and one publish`,
    },
    {
      part: 'CloudWatch Logs',
      dollars: logsPerMillion(logBytes),
      basis: `${Math.round(logBytes)} bytes per event`,
    },
  );
  return { ingress, batch, parts, total: parts.reduce((s, p) => s + p.dollars, 0), logBytes };
}

export interface StatusReadCost {
  readonly path: string;
  readonly apiGateway: number;
  readonly lambda: number;
  readonly dynamo: number;
  readonly logs: number;
  readonly total: number;
}

export function statusReadCosts(inputs: CostInputs): StatusReadCost[] {
  const row = (path: string, parts: Omit<StatusReadCost, 'path' | 'total'>): StatusReadCost => ({
    path,
    ...parts,
    total: parts.apiGateway + parts.lambda + parts.dynamo + parts.logs,
  });
  const get = (units: number) => units * PRICES.dynamoReadPerMillion;
  return [
    row('client: GetItem, eventually consistent (its default)', {
      apiGateway: 0,
      lambda: 0,
      dynamo: get(inputs.statusReadUnits.eventual),
      logs: 0,
    }),
    row('client: GetItem, strongly consistent', {
      apiGateway: 0,
      lambda: 0,
      dynamo: get(inputs.statusReadUnits.consistent),
      logs: 0,
    }),
    row('HTTP API: GET /customers/{id}/billing-status', {
      apiGateway: PRICES.httpApiPerMillion,
      lambda: lambda(inputs.runs.statusApi),
      dynamo: get(inputs.statusReadUnits.consistent),
      logs: logsPerMillion(
        inputs.statusAccessLogBytes + LOG_EVENT_OVERHEAD_BYTES + inputs.runs.statusApi.logBytes,
      ),
    }),
  ];
}
