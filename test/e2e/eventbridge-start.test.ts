// `npm start -- --ingress eventbridge` as a user runs it: the local partner bus on
// /eventbridge, no webhook (404, as in AWS, and none in the banner), and `npm run trigger --
// <type> --eventbridge --local` sending an envelope through it to the processors, applied
// once; `--ingress` refused when malformed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, LOCAL_AWS } from '../../bin/local/emulators';
import type { LocalState } from '../../bin/local/state-file';
import { buildEvent, signatureHeader, stripeId } from '../../bin/stripe-events';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { DEFAULTS } from '../../lambdas/config';
import { eventually, factIds, itemStatus, settled } from '../support/local-stack';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const STATE_FILE = path.join(mkdtempSync(path.join(tmpdir(), 'sbg-eb-')), 'stack.json');

let stack: ChildProcess;
let output = '';
let base: string;
let ddb: DynamoDBClient | undefined;
let store: FactStore;

const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BILLING_GATE_LOCAL_STATE: STATE_FILE,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  delete env.STRIPE_WEBHOOK_SECRET;
  delete env.INGRESS;
  delete env.EVENTBRIDGE_SOURCE;
  return { ...env, ...extra };
};

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Bounded: a start-up that wrongly succeeds is stopped rather than left running.
    const child = spawn(TSX, args, {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 25_000,
      killSignal: 'SIGINT',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  stack = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bin', 'local.ts'), '--ingress', 'eventbridge'],
    {
      cwd: ROOT,
      env: childEnv({ PORT: String(port), LOG_LEVEL: 'ERROR' }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  stack.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  stack.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(async () => (await fetch(`${base}/healthz`)).status === 200, {
    timeoutMs: 120_000,
    intervalMs: 250,
    what: `npm start:\n${output}`,
  });
  // The stack's own table, as the --local commands find it.
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LocalState;
  ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: state.dynamoEndpoint });
  store = new FactStore(ddb, state.tableName);
});

afterAll(async () => {
  ddb?.destroy();
  if (stack?.pid) {
    process.kill(-stack.pid, 'SIGINT');
    await new Promise((r) => stack.once('exit', r));
  }
});

describe('npm start -- --ingress eventbridge', () => {
  it('announces the local bus and its source, and no webhook', () => {
    // Assess
    expect(output).toMatch(/ingress: +eventbridge \(POST \/webhook answers 404/);
    expect(output).toContain(`eventbridge: POST ${base}/eventbridge`);
    expect(output).toContain('aws.partner/stripe.com/ed_test_local');
    expect(output).toContain('npm run trigger -- invoice.payment_failed --eventbridge --local');
    expect(output).not.toContain(`POST ${base}/webhook`);
    expect(output).not.toContain('stripe listen');
    expect(output).not.toContain(DEFAULTS.localWebhookSecret);
  });

  it('has no webhook: a correctly signed event answers 404', async () => {
    // Prepare
    const payload = JSON.stringify(buildEvent('invoice.paid'));

    // Act
    const res = await fetch(`${base}/webhook`, {
      method: 'POST',
      body: payload,
      headers: { 'stripe-signature': signatureHeader(payload, DEFAULTS.localWebhookSecret) },
    });

    // Assess
    expect(res.status).toBe(404);
  });

  it('applies an event that trigger --eventbridge --local sends through the bus', async () => {
    // Prepare
    const customer = stripeId('cus');

    // Act
    const sent = await run([
      path.join('bin', 'trigger.ts'),
      'invoice.payment_failed',
      '--customer',
      customer,
      '--eventbridge',
      '--local',
    ]);
    const status = await eventually(
      async () => {
        const res = await fetch(`${base}/customers/${customer}/billing-status`);
        return res.status === 200 ? ((await res.json()) as { canAllocate: boolean }) : null;
      },
      { timeoutMs: 30_000, what: `the status of ${customer}` },
    );

    const eventId = /sending invoice\.payment_failed (evt_\w+)/.exec(sent.stderr)?.[1];
    await eventually(() => settled(store, customer, 1), {
      timeoutMs: 30_000,
      what: `the status item of ${customer} settled`,
    });

    // Assess
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^HTTP 200 .*"delivered":\["invoice\.payment_failed"\]/);
    expect(sent.stderr).toContain(
      'in an EventBridge envelope from aws.partner/stripe.com/ed_test_local',
    );
    expect(status.canAllocate).toBe(false);
    expect(eventId).toBeDefined();
    expect(await factIds(store, customer)).toEqual([eventId]);
    expect(await itemStatus(store, customer)).toMatchObject({
      canAllocate: false,
      lastEventId: eventId,
    });
  });

  it('tells trigger without --eventbridge that this stack has no webhook', async () => {
    // Act
    const sent = await run([path.join('bin', 'trigger.ts'), 'invoice.paid', '--local']);

    // Assess
    expect(sent.code).toBe(1);
    expect(sent.stderr).toMatch(/has no webhook URL \(it takes events through EventBridge only\)/);
  });

  it('tells trigger when no rule matched the envelope (another source refused)', async () => {
    // Act
    const sent = await run(
      [path.join('bin', 'trigger.ts'), 'invoice.paid', '--eventbridge', '--local'],
      { EVENTBRIDGE_SOURCE: 'aws.partner/stripe.com/ed_test_other' },
    );

    // Assess
    expect(sent.code).toBe(1);
    expect(sent.stdout).toMatch(
      /^HTTP 400 .*receives events of aws.partner\/stripe.com\/ed_test_local only/,
    );
  });

  it('refuses trigger --eventbridge for a deployed stack, where only Stripe can publish', async () => {
    // Act
    const sent = await run([path.join('bin', 'trigger.ts'), 'invoice.paid', '--eventbridge']);

    // Assess
    expect(sent.code).toBe(2);
    expect(sent.stderr).toMatch(/only Stripe can put events on a partner event bus/);
  });
});

describe('npm start with a bad ingress', () => {
  it('stops at start-up naming the flag', async () => {
    // Act
    const result = await run([path.join('bin', 'local.ts'), '--ingress', 'carrier-pigeon'], {
      PORT: String(await freePort()),
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /--ingress must be one of "webhook", "eventbridge", "both", got "carrier-pigeon"/,
    );
  });

  it('stops at start-up on a malformed EVENTBRIDGE_SOURCE', async () => {
    // Act
    const result = await run([path.join('bin', 'local.ts')], {
      INGRESS: 'both',
      EVENTBRIDGE_SOURCE: 'stripe',
      PORT: String(await freePort()),
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/EVENTBRIDGE_SOURCE must start with "aws.partner\/stripe.com\/"/);
  });
});
