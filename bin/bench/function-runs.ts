// What each function writes to CloudWatch Logs and how long its handler runs, measured by
// running the handler factories the Lambda entries use, against the emulators, with the
// settings the stack gives the functions: application log level INFO (Lambda's
// AWS_LAMBDA_LOG_LEVEL, which Powertools follows), Powertools metrics enabled (EMF on
// stdout), the stage's metric namespace. Everything the handler writes to stdout and stderr
// during an invocation is captured; with the system log level at WARN, Lambda adds no
// START/END/REPORT lines of its own.

import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  Context,
  DynamoDBStreamEvent,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import { makeSqsEventQueue } from '../../lambdas/adapters/event-queue';
import { FactStore } from '../../lambdas/adapters/fact-store';
import type { Item } from '../../lambdas/adapters/status-item';
import { statusKey } from '../../lambdas/adapters/table-layout';
import { staticWebhookSecrets } from '../../lambdas/adapters/webhook-secrets';
import { DEFAULTS } from '../../lambdas/config';
import { metricNamespace } from '../../lambdas/core/metric-names';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { makeNotifierHandler } from '../../lambdas/notifier/make-notifier';
import { makeLogger, makeMetrics, withLambdaContext } from '../../lambdas/observability';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { makeProcessorHandler } from '../../lambdas/processor/make-processor';
import { makeStatusApiHandler } from '../../lambdas/status-api/make-status-api';
import { makeVerifierHandler } from '../../lambdas/verifier/make-verifier';
import { LOCAL_AWS } from '../local/local-aws';
import { createEventQueues, queueUrlPrefixOf } from '../local/provision';
import { buildEvent, signatureHeader, stripeId } from '../events/stripe-events';
import { billedHour, customerHistory, populateCustomer } from './history';
import { LOG_EVENT_OVERHEAD_BYTES } from './prices';
import { median } from './stats';
import { DEFAULT_GATE_SETTINGS, storeOptions } from '../../lambdas/settings';

export interface FunctionRun {
  /** Invocations timed (after two untimed ones). */
  readonly invocations: number;
  /** Median handler time of one invocation, ms. */
  readonly medianMs: number;
  /** What Lambda bills for that: whole milliseconds, rounded up. */
  readonly billedMs: number;
  /** Log lines of one invocation, and their bytes for CloudWatch (26 bytes added per line). */
  readonly logLines: number;
  readonly logBytes: number;
  /** The lines themselves, for the report. */
  readonly sampleLines: readonly string[];
}

export interface FunctionRuns {
  readonly verifier: FunctionRun;
  readonly processorBatch10: FunctionRun;
  readonly processorBatch1: FunctionRun;
  /** One canAllocate change announced (SNS publish replaced by a no-op: not timed). */
  readonly notifier: FunctionRun;
  /** One GET of a billing status. */
  readonly statusApi: FunctionRun;
  /** Body bytes of the webhook and of the status answer (for the access log line). */
  readonly webhookBytes: number;
  readonly verifierResponseBytes: number;
  readonly statusResponseBytes: number;
  /** The caller ARN the status read was made with (it lands in the access log). */
  readonly callerArn: string;
}

export const SAMPLE_CALLER_ARN =
  'arn:aws:sts::123456789012:assumed-role/provisioning-service/i-0123456789abcdef0';

/** Runs `fn` with stdout and stderr captured; returns its result and the lines written. */
export async function capture<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const out = process.stdout.write;
  const err = process.stderr.write;
  const grab = ((chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = grab;
  process.stderr.write = grab;
  try {
    const result = await fn();
    return {
      result,
      lines: chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim().length > 0),
    };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** A Lambda context like the one the runtime passes (the logger copies it into lines). */
export function lambdaContext(fn: string): Context {
  const name = `StripeBillingGate-${fn}-Ab12Cd34Ef56`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: '2026/11/29/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The environment the stack gives every function, for the loggers and metrics made here. */
export function withFunctionEnv<T>(service: string, make: () => T): T {
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_LAMBDA_LOG_LEVEL: 'INFO',
    POWERTOOLS_SERVICE_NAME: service,
    POWERTOOLS_METRICS_NAMESPACE: metricNamespace('dev'),
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  delete process.env.POWERTOOLS_DEV;
  try {
    return make();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** Times `invoke` (two untimed runs first) and captures what one invocation writes. */
async function run(rounds: number, invoke: (i: number) => Promise<unknown>): Promise<FunctionRun> {
  // Every invocation is captured, so nothing a handler writes reaches the terminal.
  await capture(() => invoke(-2));
  await capture(() => invoke(-1));
  const { lines } = await capture(() => invoke(0));
  const ms: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    const started = performance.now();
    await capture(() => invoke(i));
    ms.push(performance.now() - started);
  }
  const medianMs = median(ms);
  return {
    invocations: rounds,
    medianMs,
    billedMs: Math.ceil(medianMs),
    logLines: lines.length,
    logBytes: lines.reduce((s, l) => s + Buffer.byteLength(l) + LOG_EVENT_OVERHEAD_BYTES, 0),
    sampleLines: lines,
  };
}

const sqsRecord = (event: StripeEvent): SQSRecord => ({
  messageId: randomUUID(),
  receiptHandle: `AQEB${randomUUID()}`,
  body: JSON.stringify(event),
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(Date.now()),
    SenderId: 'AROAEXAMPLE:verifier',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {
    eventId: {
      dataType: 'String',
      stringValue: event.id,
      stringListValues: [],
      binaryListValues: [],
    },
    eventType: {
      dataType: 'String',
      stringValue: event.type,
      stringListValues: [],
      binaryListValues: [],
    },
  },
  md5OfBody: '0'.repeat(32),
  eventSource: 'aws:sqs',
  eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:sbg-dev-${event.type.replace(/\./g, '-')}`,
  awsRegion: 'us-east-1',
});

export interface FunctionRunOptions {
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  readonly tableName: string;
  /** Whose status the status API reads (the largest history). */
  readonly statusCustomer: string;
  /** Timed invocations per function (batches of ten: a fifth of it). */
  readonly rounds: number;
}

export async function measureFunctionRuns(options: FunctionRunOptions): Promise<FunctionRuns> {
  const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: options.dynamoEndpoint });
  const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: options.sqsEndpoint });
  const store = new FactStore(ddb, options.tableName, storeOptions());
  const clock = () => new Date();
  try {
    // Verifier: a signed charge.succeeded, queued on the SQS emulator.
    const [queue] = await createEventQueues(sqs, 'bench', ['charge.succeeded']);
    const secret = DEFAULTS.localWebhookSecret;
    const verifier = withFunctionEnv('verifier', () => {
      const logger = makeLogger('verifier');
      return withLambdaContext(
        logger,
        makeVerifierHandler({
          secrets: staticWebhookSecrets([secret]),
          queue: makeSqsEventQueue(sqs, queueUrlPrefixOf(queue!, 'bench')),
          enabledTypes: new Set(['charge.succeeded']),
          stripeMode: null,
          toleranceSeconds: DEFAULTS.signatureToleranceSeconds,
          clock,
          logger,
          metrics: makeMetrics('verifier'),
        }),
      );
    });
    const payload = JSON.stringify(buildEvent('charge.succeeded', { customer: stripeId('cus') }));
    let verifierResponseBytes = 0;
    const webhook = (): APIGatewayProxyEventV2 =>
      ({
        version: '2.0',
        routeKey: 'POST /webhook',
        rawPath: '/webhook',
        rawQueryString: '',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': signatureHeader(payload, secret),
        },
        requestContext: {
          accountId: '123456789012',
          apiId: 'abcdef1234',
          domainName: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
          domainPrefix: 'abcdef1234',
          http: {
            method: 'POST',
            path: '/webhook',
            protocol: 'HTTP/1.1',
            sourceIp: '54.187.174.169',
            userAgent: 'Stripe/1.0',
          },
          requestId: 'Ab1Cd2Ef3Gh4Ij5=',
          routeKey: 'POST /webhook',
          stage: '$default',
          time: '29/Nov/2026:06:00:00 +0000',
          timeEpoch: Date.now(),
        },
        body: payload,
        isBase64Encoded: false,
      }) as unknown as APIGatewayProxyEventV2;
    const verifierRun = await run(options.rounds, async () => {
      const res = await verifier(webhook(), lambdaContext('Verifier'));
      if (res.statusCode !== 200) throw new Error(`verifier answered ${res.statusCode}`);
      verifierResponseBytes = Buffer.byteLength(res.body ?? '');
    });

    // Processor: charge.succeeded batches for customers with a short history.
    const customers = Array.from({ length: 10 }, () => stripeId('cus'));
    const start = Math.floor(Date.now() / 1000) - 30 * 86_400;
    for (const c of customers) {
      await populateCustomer(ddb, store, options.tableName, c, customerHistory(c, 10, start));
    }
    const processor = withFunctionEnv('processor', () => {
      const logger = makeLogger('processor');
      return withLambdaContext(
        logger,
        makeProcessorHandler({
          eventType: 'charge.succeeded',
          store,
          stripe: null,
          clock,
          logger,
          metrics: makeMetrics('processor'),
        }),
      );
    });
    let hour = 100;
    const charges = (cs: readonly string[]): SQSEvent => {
      hour += 1;
      return {
        Records: cs.map((c) => sqsRecord(billedHour(c, start + hour * 3600, false)[0]!)),
      };
    };
    const processBatch = async (batch: SQSEvent) => {
      const res = await processor(batch, lambdaContext('Processor'));
      if (res.batchItemFailures.length > 0) throw new Error('a processor record failed');
    };
    const batch10 = await run(Math.max(3, Math.round(options.rounds / 5)), () =>
      processBatch(charges(customers)),
    );
    const batch1 = await run(options.rounds, () => processBatch(charges(customers.slice(0, 1))));

    // Notifier: the stream record of a status write that blocked a customer.
    const blocked = customers[1]!;
    const rawStatus = async () =>
      (
        await ddb.send(
          new GetItemCommand({
            TableName: options.tableName,
            Key: { pk: { S: statusKey(blocked).pk }, sk: { S: statusKey(blocked).sk } },
            ConsistentRead: true,
          }),
        )
      ).Item as Item;
    const before = await rawStatus();
    const failed = billedHour(blocked, start + (hour + 1) * 3600, true)[1]!;
    await applyEvent(JSON.stringify(failed), failed.type, { store, stripe: null, clock });
    const after = await rawStatus();
    const streamEvent: DynamoDBStreamEvent = {
      Records: [
        {
          eventID: randomUUID(),
          eventName: 'MODIFY',
          eventSource: 'aws:dynamodb',
          awsRegion: 'us-east-1',
          dynamodb: {
            Keys: { pk: before.pk!, sk: before.sk! } as never,
            OldImage: before as never,
            NewImage: after as never,
            SequenceNumber: '100000000000000000001',
            SizeBytes: 600,
            StreamViewType: 'NEW_AND_OLD_IMAGES',
          },
        },
      ],
    };
    let announced = 0;
    const notifier = withFunctionEnv('notifier', () => {
      const logger = makeLogger('notifier');
      return withLambdaContext(
        logger,
        makeNotifierHandler({
          settings: DEFAULT_GATE_SETTINGS,
          clock,
          logger,
          announce: async () => {
            announced += 1;
          },
        }),
      );
    });
    const notifierRun = await run(options.rounds, () =>
      notifier(streamEvent, lambdaContext('Notifier')),
    );
    if (announced === 0) throw new Error('the notifier announced nothing');

    // Status API: one IAM-signed GET of the largest customer's status.
    const statusApi = withFunctionEnv('status-api', () => {
      const logger = makeLogger('status-api');
      return withLambdaContext(
        logger,
        makeStatusApiHandler({
          store,
          settings: DEFAULT_GATE_SETTINGS,
          clock,
          logger,
          trustActorHeader: false,
        }),
      );
    });
    const path = `/customers/${options.statusCustomer}/billing-status`;
    let statusResponseBytes = 0;
    const statusRun = await run(options.rounds, async () => {
      const res = await statusApi(
        {
          version: '2.0',
          routeKey: 'GET /customers/{customerId}/billing-status',
          rawPath: path,
          rawQueryString: '',
          headers: {},
          pathParameters: { customerId: options.statusCustomer },
          requestContext: {
            http: {
              method: 'GET',
              path,
              protocol: 'HTTP/1.1',
              sourceIp: '10.0.1.23',
              userAgent: 'x',
            },
            authorizer: { iam: { userArn: SAMPLE_CALLER_ARN } },
          },
          isBase64Encoded: false,
        } as unknown as APIGatewayProxyEventV2,
        lambdaContext('StatusApi'),
      );
      if (res.statusCode !== 200) throw new Error(`status API answered ${res.statusCode}`);
      statusResponseBytes = Buffer.byteLength(res.body ?? '');
    });

    return {
      verifier: verifierRun,
      processorBatch10: batch10,
      processorBatch1: batch1,
      notifier: notifierRun,
      statusApi: statusRun,
      webhookBytes: Buffer.byteLength(payload),
      verifierResponseBytes,
      statusResponseBytes,
      callerArn: SAMPLE_CALLER_ARN,
    };
  } finally {
    ddb.destroy();
    sqs.destroy();
  }
}
