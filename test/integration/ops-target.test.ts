// The deployed-stack branch of the operator commands' target (bin/ops/target.ts): stack
// outputs from CloudFormation (a small local stand-in answering DescribeStacks in the AWS
// query protocol), queues discovered in the SQS emulator, the table in DynamoDB Local,
// all reached through the SDK's default chain with AWS_ENDPOINT_URL_* pointing at them; and
// the output keys the commands read, checked against the stack as synthesized offline.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { queueUrlPrefixOf } from '../../bin/local/provision';
import {
  describeAwsFailure,
  normaliseOutputKeys,
  READ_OUTPUTS,
  REQUIRED_OUTPUTS,
  resolveTarget,
  TargetError,
} from '../../bin/ops/target';
import { OUTPUT_KEYS } from '../../lib/stack-outputs';
import { synthesizeBillingGate } from '../infra/synth-billing-gate';
import { run as runRedrive } from '../../bin/redrive';
import { run as runStatus } from '../../bin/status';
import { buildEvent } from '../../bin/events/stripe-events';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { capture } from '../support/stripe-commands';
import { freshQueues, freshTable } from '../support/local-stack';

const STACK = 'sbg-ops-target-test';
const TYPES = ['invoice.payment_failed', 'charge.dispute.created', 'customer.deleted'];
const SAVED_ENV = { ...process.env };

let cfn: Server;
let outputs: Record<string, string>;
let table: Awaited<ReturnType<typeof freshTable>>;
let queues: Awaited<ReturnType<typeof freshQueues>>;

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** DescribeStacks as CloudFormation answers it (awsQuery protocol, XML). */
function describeStacksAnswer(body: string): { status: number; text: string } {
  const name = new URLSearchParams(body).get('StackName');
  if (name !== STACK) {
    return {
      status: 400,
      text: `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xml(name ?? '')} does not exist</Message></Error><RequestId>r1</RequestId></ErrorResponse>`,
    };
  }
  const members = Object.entries(outputs)
    .map(
      ([k, v]) =>
        `<member><OutputKey>${k}</OutputKey><OutputValue>${xml(v)}</OutputValue></member>`,
    )
    .join('');
  return {
    status: 200,
    text: `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${STACK}</StackName><StackId>arn:aws:cloudformation:us-east-1:000000000000:stack/${STACK}/1</StackId><CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
  };
}

beforeAll(async () => {
  table = await freshTable();
  queues = await freshQueues(TYPES);
  outputs = {
    TableName: table.tableName,
    QueueUrlPrefix: queueUrlPrefixOf(queues.queues[0]!, queues.prefix),
    // Outputs declared inside constructs carry a hash suffix.
    IngressWebhookUrl0A1B2C3D: 'https://example.execute-api.us-east-1.amazonaws.com/webhook',
    ApiUrl: 'https://example.execute-api.us-east-1.amazonaws.com/',
    WebhookSecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook-AbCdEf',
  };
  cfn = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const answer = describeStacksAnswer(body);
      res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(answer.text);
    });
  });
  await new Promise<void>((r) => cfn.listen(0, '127.0.0.1', r));
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cfn.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_SQS: inject('sqsEndpoint'),
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
  });
  delete process.env.AWS_PROFILE;
  delete process.env.BILLING_GATE_STACK;
});

afterAll(async () => {
  process.env = SAVED_ENV;
  await new Promise((r) => cfn?.close(r));
  table?.ddb.destroy();
  queues?.sqs.destroy();
});

describe('resolveTarget for a deployed stack', () => {
  it('reads the table, URLs and secret ARN from the stack outputs', async () => {
    const target = await resolveTarget({ local: false, stackName: STACK });
    try {
      expect(target).toMatchObject({
        kind: 'aws',
        region: 'us-east-1',
        stackName: STACK,
        tableName: table.tableName,
        webhookUrl: outputs.IngressWebhookUrl0A1B2C3D,
        apiUrl: 'https://example.execute-api.us-east-1.amazonaws.com',
        webhookSecretArn: outputs.WebhookSecretArn,
      });
      expect(target.describe()).toBe(`AWS stack ${STACK} in us-east-1`);
    } finally {
      target.close();
    }
  });

  it('finds one queue and DLQ per event type that has a queue in the account', async () => {
    const target = await resolveTarget({ local: false, stackName: STACK });
    target.close();

    expect(target.queues.map((q) => [q.type, q.queueUrl, q.dlqUrl])).toEqual(
      queues.queues.map((q) => [q.type, q.queueUrl, q.dlqUrl]),
    );
  });

  it('takes the stack name from BILLING_GATE_STACK when none is given', async () => {
    process.env.BILLING_GATE_STACK = STACK;
    try {
      const target = await resolveTarget({ local: false });
      target.close();
      expect(target.stackName).toBe(STACK);
    } finally {
      delete process.env.BILLING_GATE_STACK;
    }
  });

  it('fails with a deploy hint for a stack that does not exist', async () => {
    const attempt = resolveTarget({ local: false, stackName: 'sbg-missing' });

    await expect(attempt).rejects.toThrow(TargetError);
    await expect(attempt).rejects.toThrow(
      'stack sbg-missing does not exist: deploy it with npx cdk deploy',
    );
  });
});

describe('commands on a deployed stack', () => {
  it('status reads the customer from the stack table', async () => {
    // Prepare
    const customer = 'cus_OpsTargetAws1';
    const event = buildEvent('customer.deleted', { customer, created: 1_767_225_000 });
    await applyEvent(JSON.stringify(event), event.type, {
      store: table.store,
      stripe: null,
      clock: () => new Date('2026-01-01T00:00:00.000Z'),
    });
    const out = capture();

    // Act
    const code = await runStatus([customer, '--json', '--stack', STACK], out.io);

    // Assess
    expect(code).toBe(0);
    const shown = JSON.parse(out.out.join('\n')) as { status: { blockers: { reason: string }[] } };
    expect(shown.status.blockers.map((b) => b.reason)).toEqual(['customer_deleted']);
  });

  it('redrive --all --dry-run counts every DLQ of the stack', async () => {
    const out = capture();

    const code = await runRedrive(['--all', '--dry-run', '--stack', STACK], out.io);

    expect(code).toBe(0);
    expect(out.out.at(-1)).toBe(
      `total: 0 dead-lettered message(s) would be moved (${TYPES.length} of ${TYPES.length} DLQ(s) empty)`,
    );
  });
});

describe('the stack outputs the commands read', () => {
  it('are all published by the synthesized stack, under the keys the commands look for', () => {
    // Prepare: the stack as `npx cdk synth` builds it (offline, without bundling).
    const { template } = synthesizeBillingGate();
    const published = Object.keys(
      (template.toJSON() as { Outputs?: Record<string, unknown> }).Outputs ?? {},
    );

    // Act: what a command sees of those outputs after DescribeStacks.
    const seen = normaliseOutputKeys(new Map(published.map((key) => [key, `value of ${key}`])));

    // Assess
    const missing = READ_OUTPUTS.filter((key) => !seen.has(key));
    expect(missing).toEqual([]);
    expect(READ_OUTPUTS.every((key) => Object.values(OUTPUT_KEYS).includes(key as never))).toBe(
      true,
    );
    // Each read key maps to one published output of its own (no two keys share one).
    const sources = READ_OUTPUTS.map((key) => seen.get(key));
    expect(new Set(sources).size).toBe(READ_OUTPUTS.length);
    expect(REQUIRED_OUTPUTS.every((key) => READ_OUTPUTS.includes(key))).toBe(true);
  }, 120_000);
});

describe('AWS failures as the commands print them', () => {
  it('a missing region says how to set one, and that --local reaches npm start', () => {
    const message = describeAwsFailure(new Error('Region is missing'), 'StripeBillingGate');

    expect(message).toBe(
      'no AWS region configured: pass --region or set AWS_REGION for the deployed stack, ' +
        'or use --local for the stack `npm start` runs in this checkout',
    );
  });

  it('missing credentials say how to configure them, and that --local reaches npm start', () => {
    const err = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });

    expect(describeAwsFailure(err, 'StripeBillingGate')).toMatch(
      /^no AWS credentials found .* or use --local for the stack `npm start` runs in this checkout$/,
    );
  });
});
