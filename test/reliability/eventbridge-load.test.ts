// Through `npm start -- --ingress both`: a shuffled, duplicated workload over hundreds of
// customers sent concurrently through the local EventBridge route (the bus and its rules),
// with a tenth of the events also arriving as signed webhooks, must converge to the oracle
// with every event applied exactly once: nothing lost, nothing doubled, and each customer's
// status item equal to the full derivation over its stored facts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, LOCAL_AWS } from '../../bin/local/emulators';
import { DEFAULT_LOCAL_EVENTBRIDGE_SOURCE } from '../../bin/local/eventbridge-bus';
import type { LocalState } from '../../bin/local/state-file';
import { signatureHeader } from '../../bin/stripe-events';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { DEFAULTS } from '../../lambdas/config';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { toEnvelope } from '../../lambdas/eventbridge/envelope';
import { eventually, factIds, settled } from '../support/local-stack';
import { assessAgainstOracle, httpReads, makeWorkload } from './workload';

const ROOT = path.resolve(__dirname, '../..');
const STATE_FILE = path.join(mkdtempSync(path.join(tmpdir(), 'sbg-ebrel-')), 's.json');
let child: ChildProcess;
let base: string;
let output = '';
let ddb: DynamoDBClient | undefined;
let store: FactStore;

/** Posts until a 2xx, backing off on 5xx and refused connections (as Stripe and EventBridge retry). */
async function deliver(url: string, body: string, headers: Record<string, string> = {}) {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
      const text = await res.text();
      if (res.status === 200) return JSON.parse(text) as { delivered?: string[] };
      if (res.status < 500) throw new Error(`refused a valid event: ${res.status} ${text}`);
    } catch (err) {
      if (attempt > 20 || /refused a valid/.test(String(err))) throw err;
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
  }
}

const viaEventBridge = (event: StripeEvent) =>
  deliver(
    `${base}/eventbridge`,
    JSON.stringify(toEnvelope(event, { source: DEFAULT_LOCAL_EVENTBRIDGE_SOURCE })),
  );

const viaWebhook = (event: StripeEvent) => {
  const payload = JSON.stringify(event);
  return deliver(`${base}/webhook`, payload, {
    'stripe-signature': signatureHeader(payload, DEFAULTS.localWebhookSecret),
  });
};

const { status, historyIds } = httpReads(() => base);

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bin', 'local.ts'), '--ingress', 'both'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'ERROR',
        BILLING_GATE_LOCAL_STATE: STATE_FILE,
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
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
  if (child?.pid) {
    process.kill(-child.pid, 'SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
});

describe('load through the EventBridge route', () => {
  it('applies every event once: shuffled, duplicated, concurrent, some arriving both ways', async () => {
    // Prepare
    const workload = makeWorkload({ customers: 150, events: 2_500, duplicateRatio: 0.1, seed: 23 });
    const alsoWebhook = workload.events.filter((_, i) => i % 10 === 3).map((e) => e.event);
    const sends: (() => Promise<unknown>)[] = [
      ...workload.deliveries.map((e) => () => viaEventBridge(e)),
      ...alsoWebhook.map((e) => () => viaWebhook(e)),
    ];
    // Interleave the webhook copies among the bus deliveries.
    for (let k = sends.length - 1, j = 7; k > 0; k--, j = (j * 31 + 17) % 9973) {
      const m = j % (k + 1);
      [sends[k], sends[m]] = [sends[m]!, sends[k]!];
    }

    // Act
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < sends.length) await sends[next++]!();
      }),
    );
    const sentSeconds = (Date.now() - started) / 1000;

    // Assess
    const { customers, missing, doubled } = await assessAgainstOracle(
      workload,
      { status, historyIds },
      async (customer, ids) => {
        // The store itself: one fact per event, and the status item the full derivation
        // (the processor writes the fact, then the item: give the last item its moment).
        await eventually(() => settled(store, customer, ids.size), {
          timeoutMs: 30_000,
          what: `the status item of ${customer} to match its ${ids.size} facts`,
        });
        expect(await factIds(store, customer)).toEqual([...ids].sort());
      },
    );
    const figures = {
      events: workload.events.length,
      busDeliveries: workload.deliveries.length,
      duplicates: workload.deliveries.length - workload.events.length,
      alsoWebhook: alsoWebhook.length,
      customers,
      sentSeconds,
      lost: missing,
      doubled,
    };
    console.log(`eventbridge load: ${JSON.stringify(figures)}`);
    expect(missing).toBe(0);
    expect(doubled).toBe(0);
  });
});
