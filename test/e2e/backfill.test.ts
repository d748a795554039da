// The backfill story end to end (docs/behaviour.md#backfill) through `npm start`: a customer whose
// trouble predates the deployment is blocked after `npm run backfill -- --local`, and later
// real webhooks merge with the backfilled facts by the ordinary rules.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bin/local/emulators';
import { buildEvent, signatureHeader, stripeId } from '../../bin/stripe-events';
import { DEFAULTS } from '../../lambdas/config';
import type { BillingStatus } from '../../lambdas/core/facts';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import {
  invoiceObject,
  startFakeStripeApi,
  subscriptionObject,
  type FakeStripeApi,
} from '../support/fake-stripe-api';
import { eventually } from '../support/local-stack';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CUSTOMER = stripeId('cus');
const THREE_MONTHS_AGO = Math.floor(Date.now() / 1000) - 90 * 86_400;

let fake: FakeStripeApi;
let child: ChildProcess;
let base: string;
let output = '';
let env: Record<string, string>;
const invoice = invoiceObject({
  customer: CUSTOMER,
  status: 'open',
  attemptCount: 3,
  created: THREE_MONTHS_AGO,
});
const subscription = subscriptionObject({
  customer: CUSTOMER,
  status: 'past_due',
  created: THREE_MONTHS_AGO,
});
let listingTime = 0;

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function status(): Promise<BillingStatus | null> {
  const res = await fetch(`${base}/customers/${CUSTOMER}/billing-status`);
  return res.status === 200 ? ((await res.json()) as BillingStatus) : null;
}

async function deliver(event: StripeEvent) {
  const payload = JSON.stringify(event);
  const res = await fetch(`${base}/webhook`, {
    method: 'POST',
    body: payload,
    headers: {
      'content-type': 'application/json',
      'stripe-signature': signatureHeader(payload, DEFAULTS.localWebhookSecret),
    },
  });
  expect(res.status).toBe(200);
}

function backfillCli(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(
      path.join(ROOT, 'node_modules', '.bin', 'tsx'),
      [path.join(ROOT, 'bin', 'backfill.ts'), '--local'],
      { cwd: ROOT, env: { ...process.env, ...env } },
    );
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  fake = await startFakeStripeApi();
  fake.invoices.push(invoice);
  fake.subscriptions.push(subscription);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  env = {
    PORT: String(port),
    STRIPE_API_KEY: fake.apiKey,
    STRIPE_API_BASE: fake.url,
    BILLING_GATE_LOCAL_STATE: path.join(mkdtempSync(path.join(tmpdir(), 'sbg-bf-')), 'stack.json'),
  };
  child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(async () => (await fetch(`${base}/healthz`)).status === 200, {
    timeoutMs: 90_000,
    intervalMs: 250,
    what: `npm start to become healthy:\n${output}`,
  });
}, 120_000);

afterAll(async () => {
  if (child?.pid && groupAlive(child.pid)) {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  }
  await fake?.close();
}, 30_000);

describe('backfill through npm start', () => {
  it('blocks a customer for an old failed invoice and a past_due subscription', async () => {
    const run = await backfillCli();
    listingTime = Number(/listing time [^,]+, (\d+)\)/.exec(run.stdout)?.[1]);

    const blocked = await eventually(
      async () => {
        const s = await status();
        return s && s.blockers.length === 2 ? s : null;
      },
      { what: `the backfilled blockers (backfill said:\n${run.stdout}${run.stderr})` },
    );
    expect(run.code).toBe(0);
    expect(blocked.canAllocate).toBe(false);
    expect(blocked.blockers).toEqual([
      {
        reason: 'payment_failed',
        objectId: invoice.id,
        since: listingTime,
        eventId: `bf_${invoice.id as string}_${listingTime}`,
      },
      {
        reason: 'subscription_unpaid',
        objectId: subscription.id,
        since: listingTime,
        eventId: `bf_${subscription.id as string}_${listingTime}`,
      },
    ]);
  });

  it('lifts the invoice blocker on a real invoice.paid created before the listing', async () => {
    await deliver(
      buildEvent('invoice.paid', {
        customer: CUSTOMER,
        created: listingTime - 3600,
        object: { id: invoice.id },
      }),
    );

    const after = await eventually(
      async () => {
        const s = await status();
        return s && s.blockers.length === 1 ? s : null;
      },
      { what: 'the invoice blocker to go' },
    );
    expect(after.blockers.map((b) => b.reason)).toEqual(['subscription_unpaid']);
  });

  it('lets a newer real subscription update override the backfilled past_due', async () => {
    await deliver(
      buildEvent('customer.subscription.updated', {
        customer: CUSTOMER,
        created: listingTime + 1,
        object: { id: subscription.id, status: 'active' },
        previousAttributes: { status: 'past_due' },
      }),
    );

    const after = await eventually(
      async () => {
        const s = await status();
        return s?.canAllocate ? s : null;
      },
      { what: 'the customer to be allowed again' },
    );
    expect(after.blockers).toEqual([]);
  });
});
