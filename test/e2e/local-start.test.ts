// `npm start` end to end, over HTTP, as a newcomer or `stripe listen` would use it: signed
// events accepted, forged and oversized ones refused, hostile delivery orders converging,
// and Ctrl-C leaving nothing running. One stack for the whole file (its own emulators).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bin/local/emulators';
import { buildEvent, signatureHeader, stripeId } from '../../bin/events/stripe-events';
import { DEFAULTS } from '../../lambdas/config';
import { deriveBillingStatus } from '../../lambdas/core/billing-status';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { applied } from '../support/derive';
import { eventually } from '../support/local-stack';
import { DEFAULT_GATE_SETTINGS } from '../../lambdas/settings';

const ROOT = path.resolve(__dirname, '../..');
const DEV_SECRET: string = DEFAULTS.localWebhookSecret;

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The state files' temporary directories, removed when this file ends. */
const stateDirs: string[] = [];
afterAll(() => stateDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** `npm start`, spawned as `npx tsx bin/local/start.ts` in its own process group (like a shell job). */
function startLocal(env: Record<string, string>): Started {
  let output = '';
  const stateDir = mkdtempSync(path.join(tmpdir(), 'billing-gate-start-'));
  stateDirs.push(stateDir);
  const child = spawn('npx', ['tsx', 'bin/local/start.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      LOG_LEVEL: 'WARN',
      BILLING_GATE_LOCAL_STATE: path.join(stateDir, 'stack.json'),
      ...env,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  // 'close': the process has exited and every holder of its output pipes too.
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return { child, output: () => output, exited };
}

/** Live processes of a process group, with their command lines (Linux /proc). */
function processesOfGroup(pgid: number): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) !== pgid || state === 'Z') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      found.push({ pid: Number(entry), command });
    } catch {
      // the process ended while being read
    }
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let stack: Started;
let base: string;

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/webhook`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function send(event: StripeEvent, secret = DEV_SECRET) {
  const payload = JSON.stringify(event, null, 2);
  return post(payload, { 'stripe-signature': signatureHeader(payload, secret) });
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  stack = startLocal({ PORT: String(port), LOCAL_VISIBILITY_TIMEOUT_SECONDS: '2' });
  await eventually(async () => (await fetch(`${base}/healthz`)).status === 200, {
    timeoutMs: 150_000,
    intervalMs: 250,
    what: `npm start to become healthy:\n${stack.output()}`,
  });
}, 180_000);

afterAll(() => {
  const pid = stack?.child.pid;
  if (pid && processesOfGroup(pid).length > 0) process.kill(-pid, 'SIGKILL');
});

describe('npm start', () => {
  it('prints the webhook URL, the development secret and the stripe listen line', () => {
    const output = stack.output();

    expect(output).toContain(`POST ${base}/webhook`);
    expect(output).toContain(DEV_SECRET);
    expect(output).toMatch(/stripe listen --forward-to localhost:\d+\/webhook/);
  });

  it('queues a Stripe-signed event', async () => {
    const res = await send(buildEvent('invoice.payment_failed', { id: 'evt_e2e_ok' }));

    expect(res).toEqual({ status: 200, body: { received: true, id: 'evt_e2e_ok', queued: true } });
  });

  it('refuses a forged signature with 400', async () => {
    const res = await send(buildEvent('invoice.paid'), 'whsec_forged');

    expect(res).toEqual({
      status: 400,
      body: { error: 'no signature matches the payload for any configured secret' },
    });
  });

  it('refuses a body over 1,000,000 bytes with 413', async () => {
    const res = await post('x'.repeat(1_000_001), { 'stripe-signature': 't=1,v1=00' });

    expect(res.status).toBe(413);
  });

  it('refuses a signed body that is not JSON with 400', async () => {
    const res = await post('not json', {
      'stripe-signature': signatureHeader('not json', DEV_SECRET),
    });

    expect(res).toEqual({ status: 400, body: { error: 'payload is not valid JSON' } });
  });

  it('acknowledges and ignores a type no processor handles', async () => {
    const res = await send(buildEvent('plan.created'));

    expect(res.body).toMatchObject({ received: true, ignored: true });
  });

  it('answers 405 to a GET on the webhook and 404 elsewhere', async () => {
    const get = await fetch(`${base}/webhook`);
    const elsewhere = await fetch(`${base}/nowhere`);

    expect(get.status).toBe(405);
    expect(elsewhere.status).toBe(404);
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
    const expected = deriveBillingStatus({
      customerId: customer,
      facts: events.map((e) => applied(e, customer)),
      overrides: [],
      now: Math.floor(Date.now() / 1000),
      settings: DEFAULT_GATE_SETTINGS,
    })!;

    for (const e of hostile) expect((await send(e)).status).toBe(200);

    expect(expected.blockers.map((b) => `${b.reason}:${b.objectId}`)).toEqual([
      'payment_failed:in_b',
      'dispute_open:dp_a',
    ]);
    const wanted = JSON.stringify(expected.blockers);
    const status = await eventually(
      async () => {
        const res = await fetch(`${base}/customers/${customer}/billing-status`);
        if (res.status !== 200) return null;
        const body = (await res.json()) as typeof expected;
        return JSON.stringify(body.blockers) === wanted ? body : null;
      },
      { what: `the status to converge to ${wanted}` },
    );
    expect(status.blockers).toEqual(expected.blockers);
    expect(status.canAllocate).toBe(false);
    // Events that change no blocker (a duplicate success, a charge) may still be in their
    // queues when the blockers have converged: the history lists each once it is committed.
    const everyId = JSON.stringify(events.map((e) => e.id).sort());
    const history = await eventually(
      async () => {
        const res = await fetch(`${base}/customers/${customer}/events`);
        const ids = ((await res.json()) as { id: string }[]).map((h) => h.id).sort();
        return JSON.stringify(ids) === everyId ? ids : null;
      },
      { what: 'the history to list every event once' },
    );
    expect(history).toEqual(events.map((e) => e.id).sort());
  });

  it('stops everything it started on SIGINT, the Java emulator included', async () => {
    const pgid = stack.child.pid!;
    const before = processesOfGroup(pgid);
    // The process running bin/local/start.ts itself (under the tsx wrapper): signalled alone, so
    // neither the terminal's group-wide Ctrl-C nor a wrapper stops Java in its place.
    const local = before.find((p) => /loader\.mjs.*bin\/local\/start\.ts/.test(p.command));
    expect(before.some((p) => /DynamoDBLocal/.test(p.command))).toBe(true);
    expect(local).toBeDefined();

    process.kill(local!.pid, 'SIGINT');
    await stack.exited;

    await eventually(async () => before.every((p) => !alive(p.pid)), {
      timeoutMs: 20_000,
      what: `every started process to end: ${JSON.stringify(before)}`,
    });
    expect(processesOfGroup(pgid)).toEqual([]);
    expect(stack.output()).toContain('stopped: nothing left running');
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe('npm start configuration', () => {
  it.each([
    ['EXPIRY_WARNING_DAYS', 'soon', /EXPIRY_WARNING_DAYS must be a whole number/],
    ['STRIPE_WEBHOOK_SECRET', 'sk_test_oops', /STRIPE_WEBHOOK_SECRET.*not a Stripe signing secret/],
  ])('refuses an invalid %s at start-up, naming it', async (name, value, message) => {
    const started = startLocal({ PORT: String(await freePort()), [name]: value });

    const code = await started.exited;

    expect(code).not.toBe(0);
    expect(started.output()).toMatch(message);
    expect(started.output()).not.toContain('starting DynamoDB Local');
  });
});
