// `npm start` end to end, over HTTP, as a newcomer or `stripe listen` would use it: signed
// events accepted, forged ones refused, hostile delivery orders converging, and Ctrl-C
// leaving nothing running.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bin/local/emulators';
import { buildEvent, signatureHeader, stripeId } from '../../bin/stripe-events';
import { deriveBillingStatus } from '../../lambdas/core/billing-status';
import { DEFAULTS } from '../../lambdas/config';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { applied } from '../support/derive';
import { eventually } from '../support/local-stack';

const ROOT = path.resolve(__dirname, '../..');
let child: ChildProcess;
let base: string;
let output = '';

function startLocal(env: Record<string, string>): ChildProcess {
  const proc = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      BILLING_GATE_LOCAL_STATE: path.join(mkdtempSync(path.join(tmpdir(), 'sbg-')), 'stack.json'),
      ...env,
    },
    detached: true, // its own process group, like a terminal's foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return proc;
}

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function post(payload: string, headers: Record<string, string>) {
  const res = await fetch(`${base}/webhook`, {
    method: 'POST',
    body: payload,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const send = (event: StripeEvent, secret: string = DEFAULTS.localWebhookSecret) => {
  const payload = JSON.stringify(event, null, 2);
  return post(payload, { 'stripe-signature': signatureHeader(payload, secret) });
};

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = startLocal({ PORT: String(port), LOCAL_VISIBILITY_TIMEOUT_SECONDS: '2' });
  await eventually(async () => (await fetch(`${base}/healthz`)).status === 200, {
    timeoutMs: 90_000,
    intervalMs: 250,
    what: `npm start to become healthy:\n${output}`,
  });
}, 120_000);

afterAll(async () => {
  if (child?.pid && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
});

describe('npm start', () => {
  it('prints the URL, the development secret and the stripe listen line', () => {
    expect(output).toContain(`POST ${base}/webhook`);
    expect(output).toContain(DEFAULTS.localWebhookSecret);
    expect(output).toMatch(/stripe listen --forward-to localhost:\d+\/webhook/);
  });

  it('accepts a Stripe-signed event and refuses a forged, an oversized and a malformed one', async () => {
    const ok = await send(buildEvent('invoice.payment_failed', { id: 'evt_e2e_ok' }));
    expect(ok).toEqual({ status: 200, body: { received: true, id: 'evt_e2e_ok', queued: true } });
    const forged = await send(buildEvent('invoice.paid'), 'whsec_forged');
    expect(forged.status).toBe(400);
    const big = await post('x'.repeat(1_000_001), { 'stripe-signature': 't=1,v1=00' });
    expect(big.status).toBe(413);
    const notJson = 'not json';
    const bad = await post(notJson, {
      'stripe-signature': signatureHeader(notJson, DEFAULTS.localWebhookSecret),
    });
    expect(bad).toEqual({ status: 400, body: { error: 'payload is not valid JSON' } });
    const ignored = await send(buildEvent('plan.created'));
    expect(ignored.body).toMatchObject({ ignored: true });
  });

  it('converges hostile delivery orders with duplicates to the expected statuses', async () => {
    const customer = stripeId('cus');
    const chargeId = stripeId('ch');
    const t = 1_790_000_000;
    const events = [
      buildEvent('invoice.payment_failed', { customer, created: t, object: { id: 'in_a' } }),
      buildEvent('invoice.paid', { customer, created: t + 50, object: { id: 'in_a' } }),
      buildEvent('invoice.payment_failed', { customer, created: t + 10, object: { id: 'in_b' } }),
      buildEvent('payment_intent.payment_failed', {
        customer,
        created: t + 20,
        object: { id: 'pi_a' },
      }),
      buildEvent('payment_intent.succeeded', { customer, created: t + 30, object: { id: 'pi_b' } }),
      buildEvent('customer.subscription.updated', {
        customer,
        created: t + 40,
        object: { id: 'sub_a', status: 'past_due' },
        previousAttributes: { status: 'active' },
      }),
      buildEvent('customer.subscription.updated', {
        customer,
        created: t + 60,
        object: { id: 'sub_a', status: 'active' },
        previousAttributes: { status: 'past_due' },
      }),
      buildEvent('charge.dispute.created', {
        created: t + 70,
        object: { id: 'dp_a', charge: chargeId },
      }),
      buildEvent('charge.succeeded', {
        customer,
        created: t + 5,
        object: { id: chargeId, payment_intent: 'pi_b' },
      }),
    ];
    // Newest first, every event twice, the dispute before the charge that reveals its customer.
    const hostile = [...events].reverse().flatMap((e) => [e, e]);
    for (const e of hostile) expect((await send(e)).status).toBe(200);

    const expected = deriveBillingStatus({
      customerId: customer,
      facts: events.map((e) => applied(e, customer)),
      overrides: [],
      now: Math.floor(Date.now() / 1000),
      expiryWarningDays: 30,
    })!;
    expect(expected.blockers.map((b) => `${b.reason}:${b.objectId}`)).toEqual([
      'payment_failed:in_b',
      'dispute_open:dp_a',
    ]);
    const status = await eventually(
      async () => {
        const res = await fetch(`${base}/customers/${customer}/billing-status`);
        if (res.status !== 200) return null;
        const body = (await res.json()) as typeof expected;
        return body.blockers.length === 2 ? body : null;
      },
      { what: 'the converged status' },
    );
    expect(status.blockers).toEqual(expected.blockers);
    expect(status.canAllocate).toBe(false);
    const history = (await (await fetch(`${base}/customers/${customer}/events`)).json()) as {
      id: string;
    }[];
    expect(history.map((h) => h.id).sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('stops everything it started on Ctrl-C', async () => {
    const pid = child.pid!;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    process.kill(-pid, 'SIGINT');
    await exited;
    await eventually(async () => !groupAlive(pid), { what: 'the process group to end' });
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe('npm start configuration', () => {
  it('refuses an invalid variable at start-up, naming it', async () => {
    output = '';
    const proc = startLocal({ PORT: '3000', EXPIRY_WARNING_DAYS: 'soon' });
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    expect(code).not.toBe(0);
    expect(output).toMatch(/EXPIRY_WARNING_DAYS must be a whole number/);
  });
});
