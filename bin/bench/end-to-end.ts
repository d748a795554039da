// Section 7: the local twin end to end, through what `npm start` runs (bin/local/start.ts, in its
// own process tree): signed webhooks POSTed by 1, 10 and 50 concurrent senders, timed from
// the first POST until every event is applied (each customer's fact count, read from the
// table), with the acknowledgement latency of every POST and the peak memory of the whole
// tree (Node and DynamoDB Local's Java). Then DynamoDB Local's own rate on this machine:
// conditional PutItems per second at concurrency 1 and 10, on the same emulator.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { factsPk } from '../../lambdas/adapters/table-layout';
import { DEFAULTS } from '../../lambdas/config';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { LOCAL_AWS } from '../local/local-aws';
import { readLocalState } from '../local/state-file';
import { freePort } from '../local/emulators';
import { signatureHeader, stripeId } from '../events/stripe-events';
import { FAILED_HOUR_EVERY, billedHour } from './history';
import { progress } from './report';
import { median, percentile } from './stats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface EndToEndRow {
  readonly senders: number;
  readonly events: number;
  readonly customers: number;
  readonly eventsPerSecond: number;
  readonly ackP50Ms: number;
  readonly ackP99Ms: number;
}

export interface DynamoRate {
  readonly concurrency: number;
  readonly putsPerSecond: number;
}

export interface EndToEndResult {
  readonly rows: readonly EndToEndRow[];
  readonly peakMb: number;
  readonly dynamoRates: readonly DynamoRate[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident memory (MB) of `root` and all its descendants. */
function treeRssMb(root: number): number {
  const ps = spawnSync('ps', ['-o', 'pid=,ppid=,rss=', '-A'], { encoding: 'utf8' }).stdout;
  const procs = ps
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of procs) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return procs.filter(([pid]) => tree.has(pid)).reduce((s, [, , rss]) => s + rss, 0) / 1024;
}

/** `total` events of billed hours, spread over customers of ten events or so each. */
function workload(total: number): { events: StripeEvent[]; expected: Map<string, number> } {
  const customers = Array.from({ length: Math.max(1, Math.round(total / 10)) }, () =>
    stripeId('cus'),
  );
  const start = Math.floor(Date.now() / 1000) - 7 * 86_400;
  const events: StripeEvent[] = [];
  for (let hour = 1; events.length < total; hour++) {
    for (const c of customers) {
      events.push(...billedHour(c, start + hour * 3600, hour % FAILED_HOUR_EVERY === 0));
    }
  }
  const sent = events.slice(0, total);
  const expected = new Map<string, number>();
  for (const e of sent) {
    const c = (e.data.object as { customer: string }).customer;
    expected.set(c, (expected.get(c) ?? 0) + 1);
  }
  return { events: sent, expected };
}

async function dynamoRate(endpoint: string, concurrency: number, count: number): Promise<number> {
  const ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  const table = `bench-rate-${concurrency}-${Date.now()}`;
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const i = next++;
          await ddb.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                pk: { S: `CUS#cus_rate${i % 50}` },
                sk: { S: `F#pi_${i}#evt_${i}` },
                type: { S: 'charge.succeeded' },
                created: { N: String(1_700_000_000 + i) },
                data: { S: '{"status":"succeeded","paymentIntent":"pi_x"}' },
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
        }
      }),
    );
    return count / ((performance.now() - started) / 1000);
  } finally {
    ddb.destroy();
  }
}

export async function measureEndToEnd(options: {
  totals: Readonly<Record<number, number>>;
  ratePuts: number;
}): Promise<EndToEndResult> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'sbg-bench-'));
  const stateFile = path.join(stateDir, 'stack.json');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bin', 'local', 'start.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'ERROR',
        BILLING_GATE_LOCAL_STATE: stateFile,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    },
  );
  const exited = new Promise((r) => child.once('exit', r));
  let ddb: DynamoDBClient | undefined;
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('npm start did not become healthy in 120 s');
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      const ok = await fetch(`${base}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(250);
    }
    const state = readLocalState(stateFile);
    ddb = new DynamoDBClient({ ...LOCAL_AWS, endpoint: state.dynamoEndpoint });
    const factCount = async (customer: string) => {
      let count = 0;
      let start: Record<string, never> | undefined;
      do {
        const page = await ddb!.send(
          new QueryCommand({
            TableName: state.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: factsPk(customer) } },
            Select: 'COUNT',
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        );
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey as typeof start;
      } while (start);
      return count;
    };

    let peakMb = treeRssMb(child.pid!);
    const rows: EndToEndRow[] = [];
    for (const [sendersText, total] of Object.entries(options.totals)) {
      const senders = Number(sendersText);
      const { events, expected } = workload(total);
      const payloads = events.map((e) => JSON.stringify(e));
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: senders }, async () => {
          while (next < payloads.length) {
            const payload = payloads[next++]!;
            const t = performance.now();
            const res = await fetch(`${base}/webhook`, {
              method: 'POST',
              body: payload,
              headers: {
                'content-type': 'application/json',
                'stripe-signature': signatureHeader(payload, DEFAULTS.localWebhookSecret),
              },
            });
            await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
            latencies.push(performance.now() - t);
          }
        }),
      );
      const pending = new Map(expected);
      const appliedBy = Date.now() + 300_000;
      while (pending.size > 0) {
        if (Date.now() > appliedBy) {
          throw new Error(`${pending.size} customers still missing events after 300 s`);
        }
        peakMb = Math.max(peakMb, treeRssMb(child.pid!));
        const counts = await Promise.all([...pending.keys()].map(factCount));
        [...pending.keys()].forEach((c, i) => {
          if (counts[i]! >= pending.get(c)!) pending.delete(c);
        });
        if (pending.size > 0) await sleep(50);
      }
      const seconds = (performance.now() - started) / 1000;
      peakMb = Math.max(peakMb, treeRssMb(child.pid!));
      rows.push({
        senders,
        events: total,
        customers: expected.size,
        eventsPerSecond: total / seconds,
        ackP50Ms: median(latencies),
        ackP99Ms: percentile(latencies, 99),
      });
      progress(`end to end, ${senders} senders: ${(total / seconds).toFixed(1)} events/s`);
    }

    const dynamoRates: DynamoRate[] = [];
    for (const concurrency of [1, 10]) {
      const putsPerSecond = await dynamoRate(state.dynamoEndpoint, concurrency, options.ratePuts);
      dynamoRates.push({ concurrency, putsPerSecond });
    }
    return { rows, peakMb, dynamoRates };
  } finally {
    ddb?.destroy();
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
    await exited;
    rmSync(stateDir, { recursive: true, force: true });
  }
}
