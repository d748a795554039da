// `npm start -- --ingress eventbridge` as a user runs it: the local partner bus on
// /eventbridge, no webhook (404, as in AWS), and `npm run trigger -- <type> --eventbridge
// --local` sending an envelope through it to the processors; `--ingress` refused when
// malformed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bin/local/emulators';
import { buildEvent, signatureHeader, stripeId } from '../../bin/stripe-events';
import { DEFAULTS } from '../../lambdas/config';
import { eventually } from '../support/local-stack';

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const STATE_FILE = path.join(mkdtempSync(path.join(tmpdir(), 'sbg-eb-')), 'stack.json');

let stack: ChildProcess;
let output = '';
let base: string;

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
});

afterAll(async () => {
  if (stack?.pid) {
    process.kill(-stack.pid, 'SIGINT');
    await new Promise((r) => stack.once('exit', r));
  }
});

describe('npm start -- --ingress eventbridge', () => {
  it('announces the local bus and its source', () => {
    // Assess
    expect(output).toContain('ingress: eventbridge');
    expect(output).toContain(`eventbridge: POST ${base}/eventbridge`);
    expect(output).toContain('aws.partner/stripe.com/ed_test_local');
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

    // Assess
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^HTTP 200 .*"delivered":\["invoice\.payment_failed"\]/);
    expect(sent.stderr).toContain(
      'in an EventBridge envelope from aws.partner/stripe.com/ed_test_local',
    );
    expect(status.canAllocate).toBe(false);
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
