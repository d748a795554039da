// The deployed artifact itself: the app is synthesized with bundling, exactly as `cdk synth`
// builds the functions, and the *built* files of its asset directories (not the sources)
// run in fresh Node processes against the emulators: a signed webhook into the built
// verifier -> a message on the queue -> the built processor -> the built status API shows
// the blocker. Only handler interfaces are used (API Gateway and SQS events in). The asset
// directories live outside the repository, so an import the bundle left external, or an
// ESM/CommonJS interop mistake, fails here as it would in Lambda.

import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { App, type CfnResource } from 'aws-cdk-lib';
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/emulators';
import { queueUrlPrefixOf } from '../../bin/local/provision';
import { buildEvent, signatureHeader } from '../../bin/events/stripe-events';
import { metricNamespace } from '../../lambdas/core/metric-names';
import { ENV } from '../../lambdas/lambda-env';
import { addBillingGate } from '../../lib/billing-gate-app';
import type { BillingGateStack } from '../../lib/billing-gate-stack';
import { eventually, freshQueues, freshTable } from '../support/local-stack';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const STAGE = 'artifact';
const TYPE = 'invoice.payment_failed';
const SECRET = 'whsec_built_artifact_test';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook-AbCdEf';
/**
 * Optional signers the AWS SDK tries to load only for SigV4a (multi-region endpoints), in a
 * try/catch; none of the gate's clients uses them, so they are rightly not bundled.
 */
const OPTIONAL_SDK_SIGNERS = new Set(['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a']);

interface BuiltFunction {
  /** The built entry file, `<cdk.out>/asset.<hash>/index.mjs`. */
  readonly file: string;
  /** The environment the template gives the function. */
  readonly environment: Record<string, unknown>;
  /** The application log level of its logging configuration. */
  readonly logLevel: string;
}

interface Invocation {
  readonly result: Json;
  /** Every JSON line the process wrote (log lines and metric lines). */
  readonly lines: Json[];
}

let stack: BillingGateStack;
let built: { verifier: BuiltFunction; processor: BuiltFunction; statusApi: BuiltFunction };
let allEntryFiles: string[];
let runner: string;
let secretsManager: Server;
let secretsEndpoint: string;
let outdir: string;

/** Synthesizes the app as `npx cdk synth` does (cdk.json context, bundling, cdk-nag). */
function synthesizeWithBundling(): { stack: BillingGateStack; outdir: string } {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
  const outdir = mkdtempSync(join(tmpdir(), 'billing-gate-artifact-'));
  const app = new App({
    outdir,
    context: { ...cdkJson.context, stage: STAGE, enabledEventTypes: TYPE },
  });
  const synthesized = addBillingGate(app);
  app.synth();
  return { stack: synthesized, outdir };
}

function builtFunction(outdir: string, fn: CfnResource | undefined): BuiltFunction {
  const template = JSON.parse(
    readFileSync(join(outdir, `${stack.stackName}.template.json`), 'utf8'),
  ) as Json;
  const assets = JSON.parse(readFileSync(join(outdir, `${stack.stackName}.assets.json`), 'utf8'));
  const resource = template.Resources[stack.getLogicalId(fn!)];
  const hash = String(resource.Properties.Code.S3Key).replace(/\.zip$/, '');
  return {
    file: join(outdir, assets.files[hash].source.path, 'index.mjs'),
    environment: resource.Properties.Environment.Variables,
    logLevel: resource.Properties.LoggingConfig.ApplicationLogLevel,
  };
}

/** A stand-in for Secrets Manager's GetSecretValue (the one call the verifier makes). */
async function startSecretsManager(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const { SecretId } = JSON.parse(body || '{}') as { SecretId?: string };
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (target !== 'secretsmanager.GetSecretValue' || SecretId !== SECRET_ARN) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: 'no such secret' }));
        return;
      }
      res.end(
        JSON.stringify({
          ARN: SECRET_ARN,
          Name: 'webhook',
          SecretString: SECRET,
          VersionId: 'v1',
          VersionStages: ['AWSCURRENT'],
          CreatedDate: Date.now() / 1000,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const RUNNER = `
import { pathToFileURL } from 'node:url';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { handler } = await import(pathToFileURL(process.argv[2]).href);
const context = {
  awsRequestId: 'req-' + process.pid,
  functionName: 'built-function',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:built-function',
  memoryLimitInMB: '256',
  logGroupName: '/aws/lambda/built-function',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 10000,
};
const result = await handler(JSON.parse(input), context);
process.stdout.write('\\n' + JSON.stringify({ '@result': result ?? null }) + '\\n');
`;

/**
 * Runs the built handler once in a fresh Node process, as the Lambda runtime would: the
 * template's environment (with the emulators' names for the stack's resources), the SDK
 * pointed at the emulators through AWS_ENDPOINT_URL_*, Lambda's log-level variables.
 */
async function invoke(
  fn: BuiltFunction,
  event: unknown,
  resources: Record<string, string>,
): Promise<Invocation> {
  const templateEnv = Object.fromEntries(
    Object.entries(fn.environment).filter(([, v]) => typeof v === 'string'),
  ) as Record<string, string>;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...templateEnv,
    ...resources,
    AWS_REGION: LOCAL_AWS.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    AWS_ENDPOINT_URL_SQS: inject('sqsEndpoint'),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsEndpoint,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_FORMAT: 'JSON',
    AWS_LAMBDA_LOG_LEVEL: fn.logLevel,
  };
  const child = spawn(process.execPath, [runner, fn.file], { env, cwd: tmpdir() });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  child.stdin.end(JSON.stringify(event));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`built handler exited ${code}: ${stderr || stdout}`);
  // Lambda collects both streams; Powertools writes warnings and errors to stderr.
  const jsonLines = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Json);
  const out = jsonLines(stdout);
  const last = out.pop();
  if (!last || !('@result' in last)) throw new Error(`no result from built handler: ${stdout}`);
  return { result: last['@result'], lines: [...out, ...jsonLines(stderr)] };
}

function apiEvent(
  method: string,
  rawPath: string,
  routeKey: string,
  extra: Partial<APIGatewayProxyEventV2> = {},
): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'test',
      },
      requestId: 'apigw-req',
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...extra,
  };
}

function sqsEvent(messages: Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body!,
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: m.Attributes?.SenderId ?? 'sender',
        ApproximateFirstReceiveTimestamp:
          m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([name, a]) => [
          name,
          {
            dataType: a.DataType!,
            ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: LOCAL_AWS.region,
    })),
  };
}

beforeAll(async () => {
  const synthesized = synthesizeWithBundling();
  stack = synthesized.stack;
  outdir = synthesized.outdir;
  const gate = stack.gate;
  const cfn = (c: IConstruct) => c.node.defaultChild as CfnResource;
  built = {
    verifier: builtFunction(synthesized.outdir, cfn(gate.ingress.verifier.function)),
    processor: builtFunction(synthesized.outdir, cfn(gate.processing.processors[0]!.function)),
    statusApi: builtFunction(synthesized.outdir, cfn(gate.ingress.statusApi.function)),
  };
  allEntryFiles = readdirSync(synthesized.outdir)
    .filter((d) => d.startsWith('asset.'))
    .map((d) => join(synthesized.outdir, d, 'index.mjs'));
  runner = join(mkdtempSync(join(tmpdir(), 'billing-gate-runner-')), 'run.mjs');
  writeFileSync(runner, RUNNER);
  secretsManager = await startSecretsManager();
  secretsEndpoint = `http://127.0.0.1:${(secretsManager.address() as AddressInfo).port}`;
  // Bundling every function runs esbuild once per function: a deadline for a busy machine.
}, 300_000);

afterAll(async () => {
  await new Promise((resolve) => secretsManager?.close(resolve));
  for (const dir of [outdir, runner && dirname(runner)]) {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

describe('the built functions', () => {
  it('import nothing but Node built-ins: the AWS SDK and every library are inside the bundle', () => {
    // Prepare
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

    // Act
    const imported = allEntryFiles.flatMap((file) => {
      const code = readFileSync(file, 'utf8');
      const specifiers = [
        ...code.matchAll(/\bfrom\s*["']([^"']+)["']/g),
        ...code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g),
        ...code.matchAll(/\brequire\s*\(\s*["']([^"']+)["']\s*\)/g),
      ].map((m) => m[1]!);
      return specifiers
        .filter((s) => !builtins.has(s) && !OPTIONAL_SDK_SIGNERS.has(s))
        .map((s) => `${file}: ${s}`);
    });

    // Assess
    expect(allEntryFiles.length).toBeGreaterThanOrEqual(5);
    expect(imported).toEqual([]);
  });

  it('take a signed webhook through the verifier, the queue and the processor to a blocker in the status API', async () => {
    // Prepare: the emulators' table and queue stand in for the stack's.
    const { tableName } = await freshTable();
    const { sqs, prefix, queues } = await freshQueues([TYPE]);
    const queue = queues[0]!;
    const customer = `cus_built${Date.now()}`;
    const stripeEvent = buildEvent(TYPE, { customer });
    const invoiceId = (stripeEvent.data.object as { id: string }).id;
    const payload = JSON.stringify(stripeEvent);
    const webhook = apiEvent('POST', '/webhook', 'POST /webhook', {
      headers: { 'stripe-signature': signatureHeader(payload, SECRET) },
      body: payload,
    });

    // Act: the built verifier.
    const verified = await invoke(built.verifier, webhook, {
      [ENV.queueUrlPrefix]: queueUrlPrefixOf(queue, prefix),
      [ENV.webhookSecretArn]: SECRET_ARN,
    });

    // Assess
    expect(verified.result.statusCode).toBe(200);
    expect(JSON.parse(verified.result.body)).toEqual({
      received: true,
      id: stripeEvent.id,
      queued: true,
    });

    // Act: the message the verifier queued, through the built processor.
    const messages = await eventually(
      async () => {
        const got = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
            AttributeNames: ['All'],
          }),
        );
        return got.Messages?.length ? got.Messages : null;
      },
      { what: 'the queued event' },
    );
    const processed = await invoke(built.processor, sqsEvent(messages, queue.queueArn), {
      [ENV.tableName]: tableName,
    });

    // Assess
    expect(messages.map((m) => m.Body)).toEqual([payload]);
    expect(processed.result).toEqual({ batchItemFailures: [] });

    // Act: the built status API.
    const status = await invoke(
      built.statusApi,
      apiEvent(
        'GET',
        `/customers/${customer}/billing-status`,
        'GET /customers/{customerId}/billing-status',
        { pathParameters: { customerId: customer } },
      ),
      { [ENV.tableName]: tableName },
    );

    // Assess
    expect(status.result.statusCode).toBe(200);
    expect(JSON.parse(status.result.body)).toMatchObject({
      customerId: customer,
      canAllocate: false,
      blockers: [{ reason: 'payment_failed', objectId: invoiceId, eventId: stripeEvent.id }],
      lastEventId: stripeEvent.id,
    });
  });

  it('log failures with the Lambda context, publish metrics in the stage namespace, and write no line at all for a queued webhook', async () => {
    // Prepare
    const { prefix, queues } = await freshQueues([TYPE]);
    const resources = {
      [ENV.queueUrlPrefix]: queueUrlPrefixOf(queues[0]!, prefix),
      [ENV.webhookSecretArn]: SECRET_ARN,
    };
    const payload = JSON.stringify(buildEvent(TYPE));
    const forged = apiEvent('POST', '/webhook', 'POST /webhook', {
      headers: { 'stripe-signature': signatureHeader(payload, 'whsec_forger') },
      body: payload,
    });

    // Act
    const rejected = await invoke(built.verifier, forged, resources);
    const signedWebhook = () =>
      apiEvent('POST', '/webhook', 'POST /webhook', {
        headers: { 'stripe-signature': signatureHeader(payload, SECRET) },
        body: payload,
      });
    const accepted = await invoke(
      { ...built.verifier, logLevel: 'WARN' },
      signedWebhook(),
      resources,
    );
    const acceptedAtInfo = await invoke(built.verifier, signedWebhook(), resources);

    // Assess
    expect(rejected.result.statusCode).toBe(400);
    const warning = rejected.lines.find((l) => l.level === 'WARN');
    expect(warning).toMatchObject({
      message: 'webhook',
      status: 400,
      function_request_id: expect.stringMatching(/^req-/),
      cold_start: true,
      service: 'verifier',
    });
    const metricLines = rejected.lines.filter((l) => l._aws);
    expect(metricLines.length).toBeGreaterThan(0);
    expect(
      new Set(metricLines.flatMap((l) => l._aws.CloudWatchMetrics.map((m: Json) => m.Namespace))),
    ).toEqual(new Set([metricNamespace(STAGE)]));
    expect(accepted.result.statusCode).toBe(200);
    expect(accepted.lines.filter((l) => l.level)).toEqual([]);
    // At the stack's own level (INFO) a queued webhook writes neither a log nor a metric line.
    expect(built.verifier.logLevel).toBe('INFO');
    expect(acceptedAtInfo.result.statusCode).toBe(200);
    expect(acceptedAtInfo.lines).toEqual([]);
  });
});
