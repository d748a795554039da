// Which running stack an operator command acts on: `npm start`'s (`--local`, read from the
// state file it writes) or the deployed one (its CloudFormation outputs, default credentials).

// The SDK clients are loaded on first use, so `--help`, `--list` and argument errors of the
// commands answer without loading them.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterQueueName, queueName } from '../../lambdas/adapters/queue-layout';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { LOCAL_AWS } from '../local/local-aws';
import { readLocalState, type LocalState } from '../local/state-file';
import { BASE_STACK_NAME, OUTPUT_KEYS } from '../../lib/stack-outputs';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { DEFAULT_GATE_SETTINGS, settingsOfStored, type GateSettings } from '../../lambdas/settings';

/** The stack name `npx cdk deploy` uses unless told otherwise (bin/app.ts). */
export const DEFAULT_STACK_NAME = BASE_STACK_NAME;
/** Environment variable naming the deployed stack when `--stack` is not given. */
export const STACK_NAME_ENV = 'BILLING_GATE_STACK';

/** CloudFormation output keys of the stack, as lib/billing-gate-stack.ts publishes them. */
export const STACK_OUTPUTS = OUTPUT_KEYS;

/** The outputs the commands cannot work without (a stack lacking one is refused). */
export const REQUIRED_OUTPUTS = [OUTPUT_KEYS.tableName, OUTPUT_KEYS.queueUrlPrefix] as const;
/** The outputs some commands read when present (trigger, register-endpoint, ...). */
export const OPTIONAL_OUTPUTS = [
  OUTPUT_KEYS.webhookUrl,
  OUTPUT_KEYS.apiUrl,
  OUTPUT_KEYS.webhookSecretArn,
  OUTPUT_KEYS.apiKeySecretArn,
  OUTPUT_KEYS.announcementsTopicArn,
  OUTPUT_KEYS.enabledEventTypes,
] as const;
/** Every output key an operator command reads. */
export const READ_OUTPUTS: readonly string[] = [...REQUIRED_OUTPUTS, ...OPTIONAL_OUTPUTS];

export interface TargetOptions {
  /** `npm start`'s stack instead of the deployed one. */
  local: boolean;
  /** Deployed stack name; default env BILLING_GATE_STACK, then DEFAULT_STACK_NAME. */
  stackName?: string;
  /** AWS region; default the SDK's (AWS_REGION, profile). */
  region?: string;
}

/** One processor queue and its dead-letter queue. ARNs are known locally, looked up in AWS. */
export interface TargetQueue {
  readonly type: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly queueArn?: string;
  readonly dlqArn?: string;
}

export interface Target {
  readonly kind: 'local' | 'aws';
  readonly region: string;
  readonly ddb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  /** One entry per enabled event type, in registry order. */
  readonly queues: readonly TargetQueue[];
  readonly webhookUrl: string;
  /** Base URL of the status API (no trailing slash). */
  readonly apiUrl: string;
  /** AWS only. */
  readonly stackName?: string;
  readonly secretsManager?: SecretsManagerClient;
  readonly webhookSecretArn?: string;
  readonly apiKeySecretArn?: string;
  /** The announcements topic (canAllocate changes), from the AnnouncementsTopicArn output. */
  readonly topicArn?: string;
  /** Local only: what `npm start` recorded (e.g. whether it uses the default secret). */
  readonly local?: LocalState;
  /** One line naming the target, for command output. */
  describe(): string;
  /** Destroys the SDK clients. */
  close(): void;
}

/** A failure to reach the target, with a message fit to print as is. */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

export async function resolveTarget(
  options: TargetOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Target> {
  return options.local ? localTarget() : awsTarget(options, env);
}

// ---------------------------------------------------------------------------------------
// local

export async function localTarget(state: LocalState = readLocalStateOrFail()): Promise<Target> {
  const [{ DynamoDBClient }, { SQSClient }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('@aws-sdk/client-sqs'),
  ]);
  const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: state.dynamoEndpoint });
  const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: state.sqsEndpoint });
  return {
    kind: 'local',
    region: LOCAL_AWS.region,
    ddb,
    sqs,
    tableName: state.tableName,
    queues: state.queues.map((q) => ({
      type: q.type,
      queueUrl: q.queueUrl,
      dlqUrl: q.dlqUrl,
      queueArn: q.queueArn,
      dlqArn: q.dlqArn,
    })),
    webhookUrl: state.webhookUrl,
    apiUrl: state.apiUrl.replace(/\/+$/, ''),
    local: state,
    describe: () => `local stack (npm start, pid ${state.pid}, ${state.apiUrl})`,
    close() {
      ddb.destroy();
      sqs.destroy();
    },
  };
}

function readLocalStateOrFail(): LocalState {
  try {
    return readLocalState();
  } catch (err) {
    throw new TargetError((err as Error).message);
  }
}

// ---------------------------------------------------------------------------------------
// AWS

export function stackNameOf(
  options: TargetOptions,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const fromEnv = env[STACK_NAME_ENV]?.trim();
  return options.stackName ?? (fromEnv ? fromEnv : DEFAULT_STACK_NAME);
}

async function awsTarget(
  options: TargetOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Target> {
  const stackName = stackNameOf(options, env);
  const [{ CloudFormationClient }, { DynamoDBClient }, { SecretsManagerClient }, { SQSClient }] =
    await Promise.all([
      import('@aws-sdk/client-cloudformation'),
      import('@aws-sdk/client-dynamodb'),
      import('@aws-sdk/client-secrets-manager'),
      import('@aws-sdk/client-sqs'),
    ]);
  const clientConfig = options.region ? { region: options.region } : {};
  const cfn = new CloudFormationClient(clientConfig);
  let outputs: Map<string, string>;
  let region: string;
  try {
    region = await cfn.config.region();
    outputs = await stackOutputs(cfn, stackName, region);
  } catch (err) {
    throw new TargetError(describeAwsFailure(err, stackName));
  } finally {
    cfn.destroy();
  }

  const tableName = requiredOutput(outputs, STACK_OUTPUTS.tableName, stackName);
  const queueUrlPrefix = requiredOutput(outputs, STACK_OUTPUTS.queueUrlPrefix, stackName);
  const ddb = new DynamoDBClient({ region });
  const sqs = new SQSClient({ region });
  let queues: TargetQueue[];
  try {
    queues = await deployedQueues(
      sqs,
      queueUrlPrefix,
      optionalOutput(outputs, STACK_OUTPUTS.enabledEventTypes),
    );
  } catch (err) {
    ddb.destroy();
    sqs.destroy();
    throw new TargetError(describeAwsFailure(err, stackName));
  }
  const secretsManager = new SecretsManagerClient({ region });
  const webhookSecretArn = optionalOutput(outputs, STACK_OUTPUTS.webhookSecretArn);
  const apiKeySecretArn = optionalOutput(outputs, STACK_OUTPUTS.apiKeySecretArn);
  const topicArn = optionalOutput(outputs, STACK_OUTPUTS.announcementsTopicArn);
  return {
    kind: 'aws',
    region,
    ddb,
    sqs,
    tableName,
    queues,
    webhookUrl: optionalOutput(outputs, STACK_OUTPUTS.webhookUrl) ?? '',
    apiUrl: (optionalOutput(outputs, STACK_OUTPUTS.apiUrl) ?? '').replace(/\/+$/, ''),
    stackName,
    secretsManager,
    ...(webhookSecretArn ? { webhookSecretArn } : {}),
    ...(apiKeySecretArn ? { apiKeySecretArn } : {}),
    ...(topicArn ? { topicArn } : {}),
    describe: () => `AWS stack ${stackName} in ${region}`,
    close() {
      ddb.destroy();
      sqs.destroy();
      secretsManager.destroy();
    },
  };
}

async function stackOutputs(
  cfn: CloudFormationClient,
  stackName: string,
  region: string,
): Promise<Map<string, string>> {
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const got = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const stack = got.Stacks?.[0];
  if (!stack) throw new TargetError(`stack ${stackName} not found in ${region}`);
  const outputs = new Map<string, string>();
  for (const o of stack.Outputs ?? []) {
    if (o.OutputKey && o.OutputValue !== undefined) outputs.set(o.OutputKey, o.OutputValue);
  }
  return normaliseOutputKeys(outputs);
}

/**
 * Outputs declared inside a construct get a hash suffix on their logical id
 * (`WebhookUrl` -> `IngressWebhookUrlA1B2C3D4`); map those back to the plain key.
 */
export function normaliseOutputKeys(raw: ReadonlyMap<string, string>): Map<string, string> {
  const result = new Map(raw);
  for (const key of READ_OUTPUTS) {
    if (result.has(key)) continue;
    const match = [...raw.keys()].find((k) => new RegExp(`${key}(?:[0-9A-F]{8})?$`).test(k));
    if (match) result.set(key, raw.get(match)!);
  }
  return result;
}

/** An output some commands use; its key must be listed in OPTIONAL_OUTPUTS. */
function optionalOutput(
  outputs: ReadonlyMap<string, string>,
  key: (typeof OPTIONAL_OUTPUTS)[number],
): string | undefined {
  return outputs.get(key);
}

/** An output every command needs; its key must be listed in REQUIRED_OUTPUTS. */
function requiredOutput(
  outputs: ReadonlyMap<string, string>,
  key: (typeof REQUIRED_OUTPUTS)[number],
  stack: string,
): string {
  const value = outputs.get(key);
  if (!value) {
    throw new TargetError(
      `stack ${stack} has no output ${key} (outputs: ${[...outputs.keys()].join(', ') || 'none'}); ` +
        'is it a stripe-billing-gate stack, deployed with the current version?',
    );
  }
  return value;
}

/**
 * The processor queues of a deployed stack. Queue URLs are `QueueUrlPrefix` + type slug
 * (lambdas/adapters/queue-layout.ts); which types are enabled comes from the optional
 * EnabledEventTypes output, else from the queues that exist.
 */
async function deployedQueues(
  sqs: SQSClient,
  queueUrlPrefix: string,
  enabledOutput: string | undefined,
): Promise<TargetQueue[]> {
  const cut = queueUrlPrefix.lastIndexOf('/');
  const base = queueUrlPrefix.slice(0, cut + 1);
  const namePrefix = queueUrlPrefix.slice(cut + 1).replace(/-$/, '');
  const pairOf = (type: string): TargetQueue => ({
    type,
    queueUrl: base + queueName(namePrefix, type),
    dlqUrl: base + deadLetterQueueName(namePrefix, type),
  });
  if (enabledOutput) {
    const enabled = new Set(enabledOutput.split(',').map((s) => s.trim()));
    return HANDLED_TYPES.filter((t) => enabled.has(t)).map(pairOf);
  }
  const { ListQueuesCommand } = await import('@aws-sdk/client-sqs');
  const existing = new Set<string>();
  let nextToken: string | undefined;
  do {
    const page = await sqs.send(
      new ListQueuesCommand({
        QueueNamePrefix: `${namePrefix}-`,
        MaxResults: 1000,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const url of page.QueueUrls ?? []) existing.add(url.slice(url.lastIndexOf('/') + 1));
    nextToken = page.NextToken;
  } while (nextToken);
  return HANDLED_TYPES.filter((t) => existing.has(queueName(namePrefix, t))).map(pairOf);
}

/** Turns the SDK's failures into one actionable line (never a secret, never a stack trace). */
export function describeAwsFailure(err: unknown, stackName: string): string {
  if (err instanceof TargetError) return err.message;
  const e = err as { name?: string; message?: string };
  const name = e.name ?? 'Error';
  const message = e.message ?? String(err);
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return `no AWS credentials found (${message}); configure them (AWS_PROFILE, aws configure, SSO) for the deployed stack, or use --local for the stack \`npm start\` runs in this checkout`;
  }
  if (/region/i.test(message) && /missing|not accepted/i.test(message)) {
    return (
      'no AWS region configured: pass --region or set AWS_REGION for the deployed stack, ' +
      'or use --local for the stack `npm start` runs in this checkout'
    );
  }
  if (name === 'ValidationError' && /does not exist/.test(message)) {
    return `stack ${stackName} does not exist: deploy it with npx cdk deploy, or name another with --stack or ${STACK_NAME_ENV}`;
  }
  if (/AccessDenied|not authorized/i.test(name + message)) {
    return `access denied: ${message}`;
  }
  return `${name}: ${message}`;
}

/**
 * The target's store, evaluating statuses under the settings its table states (the policy and
 * warning window the deployment runs with), so a command answers as the status API does.
 */
export async function storeOf(
  target: Pick<Target, 'ddb' | 'tableName'>,
  clock: () => number = Date.now,
): Promise<{ store: FactStore; settings: GateSettings }> {
  const reader = new FactStore(target.ddb, target.tableName, {
    settings: DEFAULT_GATE_SETTINGS,
    settingsHash: DEFAULT_GATE_SETTINGS.hash,
    clock,
  });
  const settings = settingsOfStored(await reader.readSettings());
  return {
    store: new FactStore(target.ddb, target.tableName, {
      settings,
      settingsHash: settings.hash,
      clock,
    }),
    settings,
  };
}
