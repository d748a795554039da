// The built client package (client/dist, as published) against `npm start`: for a blocked,
// an allowed, an overridden and an unknown customer it gives the status API's answer, read
// straight from the local DynamoDB table with what `.local/stack.json` records; `ready()`
// tells the stack's own key from another; a table it cannot find is a configuration error.
// The package is built here first, so this file always tests the current source (the
// tarball in fresh apps is test/e2e/package.test.ts).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/local-aws';
import { LOCAL_TABLE } from '../../bin/local/start';
import type { LocalState } from '../../bin/local/state-file';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { BillingStatus } from '../../lambdas/core/facts';
import { eventually } from '../support/local-stack';
import { ROOT, startLocalStack, type LocalStack } from './npm-start';

type ClientPackage = typeof import('../../client/src/index');

const SECRET = 'whsec_client_package_test_secret';

let stack: LocalStack;
let base: string;
let state: LocalState;
/** A client configured by the state file alone, as a service pointed at npm start is. */
let dynamo: DynamoDBClient;
let pkg: ClientPackage;

/** `npm run build -w client`, as a developer or `npm pack` runs it. */
function buildClient(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '-w', 'client'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`client build failed (${code}):\n${output}`)),
    );
  });
}

/** Posts a signed event to the local webhook, as Stripe would. */
async function deliver(type: string, customer: string): Promise<string> {
  const event = buildEvent(type, { customer });
  expect((await stack.deliver(event)).status).toBe(200);
  return event.id;
}

async function apiStatus(
  customer: string,
): Promise<{ code: number; status: BillingStatus | null }> {
  const res = await fetch(`${base}/customers/${customer}/billing-status`);
  const body = (await res.json()) as unknown;
  return { code: res.status, status: res.status === 200 ? (body as BillingStatus) : null };
}

/** Waits until the status API has applied `eventIds` for `customer`. */
async function applied(customer: string, eventIds: string[]): Promise<void> {
  await eventually(
    async () => {
      const res = await fetch(`${base}/customers/${customer}/events`);
      if (res.status !== 200) return false;
      const ids = ((await res.json()) as { id: string }[]).map((e) => e.id);
      return eventIds.every((id) => ids.includes(id));
    },
    { timeoutMs: 30_000, intervalMs: 100, what: `${eventIds.join(', ')} applied to ${customer}` },
  );
}

beforeAll(async () => {
  // The build and the stack's start-up overlap.
  [stack] = await Promise.all([
    startLocalStack({
      env: { STRIPE_WEBHOOK_SECRET: SECRET },
      stateDirPrefix: 'client-',
      readyTimeoutMs: 200_000,
    }),
    buildClient(),
  ]);
  ({ base, state } = stack);
  const recorded = JSON.parse(readFileSync(stack.stateFile, 'utf8')) as LocalState;
  dynamo = new DynamoDBClient({
    endpoint: recorded.dynamoEndpoint,
    region: recorded.region,
    credentials: recorded.credentials,
  });
  pkg = (await import(
    /* @vite-ignore */ path.join(ROOT, 'client', 'dist', 'index.js')
  )) as ClientPackage;
}, 240_000);

afterAll(async () => {
  dynamo?.destroy();
  await stack?.stop();
}, 30_000);

describe('.local/stack.json and the banner', () => {
  it('record the endpoint, table, region and credentials a client needs', () => {
    // Act
    const recorded = JSON.parse(readFileSync(stack.stateFile, 'utf8')) as LocalState;

    // Assess
    expect(recorded).toMatchObject({
      dynamoEndpoint: state.dynamoEndpoint,
      tableName: LOCAL_TABLE,
      region: LOCAL_AWS.region,
      credentials: LOCAL_AWS.credentials,
    });
    expect(stack.output()).toContain(
      `table:    ${LOCAL_TABLE} at ${state.dynamoEndpoint}, region ${LOCAL_AWS.region}, access key id ${LOCAL_AWS.credentials.accessKeyId}, secret ${LOCAL_AWS.credentials.secretAccessKey}`,
    );
  });
});

describe('the built client against npm start', { timeout: 90_000 }, () => {
  it('agrees with the status API for a blocked, an allowed, an overridden and an unknown customer', async () => {
    // Prepare: four customers in four states, reached through the webhook and the API.
    const [blocked, allowed, overridden, unknown] = Array.from({ length: 4 }, () =>
      stripeId('cus'),
    ) as [string, string, string, string];
    const blockedEvents = [await deliver('invoice.payment_failed', blocked)];
    const allowedEvents = [
      await deliver('payment_method.attached', allowed),
      await deliver('invoice.paid', allowed),
    ];
    const overriddenEvents = [await deliver('invoice.payment_failed', overridden)];
    await Promise.all([
      applied(blocked, blockedEvents),
      applied(allowed, allowedEvents),
      applied(overridden, overriddenEvents),
    ]);
    const put = await fetch(`${base}/customers/${overridden}/override`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'allow', reason: 'paid by wire' }),
    });
    expect(put.status).toBe(200);
    const gate = pkg.createBillingGate({ tableName: state.tableName, client: dynamo });

    // Act
    await gate.ready();
    const checks = await Promise.all(
      [blocked, allowed, overridden, unknown].map((c) => gate.check(c)),
    );
    const api = await Promise.all([blocked, allowed, overridden, unknown].map(apiStatus));

    // Assess: the same JSON, field for field, and the same decision.
    expect(api.map((a) => a.code)).toEqual([200, 200, 200, 404]);
    expect(checks.map((c) => c.source)).toEqual(['table', 'table', 'table', 'table']);
    expect(checks.map((c) => c.status)).toEqual(api.map((a) => a.status));
    expect(checks.map((c) => c.canAllocate)).toEqual([false, true, true, true]);
    expect(checks[0]!.status?.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
    expect(checks[1]!.status?.paymentMethods).toHaveLength(1);
    expect(checks[2]!.status?.override).toMatchObject({ mode: 'allow', reason: 'paid by wire' });
    expect(checks[2]!.status?.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
    expect(checks[3]!.status).toBeNull();
  });

  it("denies an unknown customer with unknownCustomer: 'deny', and reads consistently when asked", async () => {
    const customer = stripeId('cus');
    const eventId = await deliver('invoice.payment_failed', customer);
    await applied(customer, [eventId]);
    const gate = pkg.createBillingGate({
      tableName: state.tableName,
      client: dynamo,
      unknownCustomer: 'deny',
      consistentRead: true,
    });

    const [known, unknown] = await Promise.all([gate.check(customer), gate.check(stripeId('cus'))]);

    expect(known.canAllocate).toBe(false);
    expect(known.status).toEqual((await apiStatus(customer)).status);
    expect(unknown).toEqual({ canAllocate: false, status: null, source: 'table' });
  });

  it('rejects ready() with another access key: DynamoDB Local shows it no table, and the message says why', async () => {
    // Prepare
    const other = new DynamoDBClient({
      endpoint: state.dynamoEndpoint,
      region: state.region,
      credentials: { accessKeyId: 'another', secretAccessKey: 'local' },
    });
    const gate = pkg.createBillingGate({ tableName: state.tableName, client: other });

    // Act
    const error = (await gate.ready().catch((e: unknown) => e)) as InstanceType<
      ClientPackage['GateNotReadyError']
    >;
    other.destroy();

    // Assess
    expect(error).toBeInstanceOf(pkg.GateNotReadyError);
    expect(error).toMatchObject({ kind: 'configuration', problem: 'table_not_found' });
    expect(error.message).toContain(
      `table "${state.tableName}" not found in region ${state.region} at ${state.dynamoEndpoint}`,
    );
    expect(error.message).toContain('check the access key id too');
  });

  it('answers a table it cannot find per onError.configuration, logging and reporting it as configuration', async () => {
    const observed: [string, string][] = [];
    const logged: string[] = [];
    const gate = pkg.createBillingGate({
      tableName: `${state.tableName}-missing`,
      client: dynamo,
      onError: { configuration: 'deny' },
      logger: { warn: (m) => logged.push(`warn ${m}`), error: (m) => logged.push(`error ${m}`) },
      onErrorObserved: (e, _customer, kind) => observed.push([e.name, kind]),
    });

    const r = await gate.check(stripeId('cus'));

    expect(r).toEqual({ canAllocate: false, status: null, source: 'error' });
    expect(observed).toEqual([['ResourceNotFoundException', 'configuration']]);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^error .*table "sbg-local-billing-missing" not found/);
  });
});
