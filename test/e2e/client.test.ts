// The built client package (client/dist, as published) against `npm start`: for a blocked,
// an allowed, an overridden and an unknown customer it gives the status API's answer, read
// straight from the local DynamoDB table. The package is built here first, so this file
// always tests the current source; its types are compiled as a consumer would compile them.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS } from '../../bin/local/local-aws';
import type { LocalState } from '../../bin/local/state-file';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import type { BillingStatus } from '../../lambdas/core/facts';
import { eventually } from '../support/local-stack';
import { ROOT, startLocalStack, type LocalStack } from './npm-start';

type ClientPackage = typeof import('../../client/src/index');

const PACKAGE = 'stripe-billing-gate-client';
const DIST = path.join(ROOT, 'client', 'dist');
const SECRET = 'whsec_client_package_test_secret';

let stack: LocalStack;
let base: string;
let state: LocalState;
let pkg: ClientPackage;
let dynamo: DynamoDBClient;

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
      stateDirPrefix: 'sbg-client-',
      readyTimeoutMs: 200_000,
    }),
    buildClient(),
  ]);
  ({ base, state, dynamo } = stack);
  pkg = (await import(/* @vite-ignore */ PACKAGE)) as ClientPackage;
}, 240_000);

afterAll(() => stack?.stop(), 30_000);

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

  it('answers per onError, and reports the error, when the table cannot be read', async () => {
    const observed: Error[] = [];
    const logged: string[] = [];
    const gate = pkg.createBillingGate({
      tableName: `${state.tableName}-missing`,
      client: dynamo,
      onError: 'deny',
      logger: { warn: (m) => logged.push(m), error: (m) => logged.push(m) },
      onErrorObserved: (e) => observed.push(e),
    });

    const r = await gate.check(stripeId('cus'));

    expect(r).toEqual({ canAllocate: false, status: null, source: 'error' });
    expect(observed.map((e) => e.name)).toEqual(['ResourceNotFoundException']);
    expect(logged).toHaveLength(1);
  });

  it('runs in plain Node, imported by its package name', () => {
    // A fresh Node process, no test runner: what a provisioning service does.
    const script = `
      import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
      import { createBillingGate, STATUS_ITEM_FORMAT } from '${PACKAGE}';
      const client = new DynamoDBClient(JSON.parse(process.env.CLIENT_CONFIG));
      const gate = createBillingGate({ tableName: process.env.TABLE, client, unknownCustomer: 'deny' });
      const r = await gate.check(process.env.CUSTOMER);
      console.log(JSON.stringify({ r, STATUS_ITEM_FORMAT }));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        CLIENT_CONFIG: JSON.stringify({ ...LOCAL_AWS, endpoint: state.dynamoEndpoint }),
        TABLE: state.tableName,
        CUSTOMER: stripeId('cus'),
      },
    });

    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      r: { canAllocate: false, status: null, source: 'table' },
      STATUS_ITEM_FORMAT: 1,
    });
  });
});

describe('the built package', () => {
  it('imports nothing at run time but the AWS SDK DynamoDB client', () => {
    const code = readFileSync(path.join(DIST, 'index.js'), 'utf8');
    const specifiers = [
      ...code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']/g),
    ].map((m) => m[1]);
    const dynamic = [...code.matchAll(/\b(?:import|require)\s*\(\s*["']([^"']+)["']/g)].map(
      (m) => m[1],
    );

    expect(new Set([...specifiers, ...dynamic])).toEqual(new Set(['@aws-sdk/client-dynamodb']));
    const manifest = JSON.parse(
      readFileSync(path.join(ROOT, 'client', 'package.json'), 'utf8'),
    ) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies)).toEqual(['@aws-sdk/client-dynamodb']);
  });

  it('has one declaration file, referencing no file outside dist, that a consumer compiles against', () => {
    // Prepare: a consumer's file, resolved from the repository root as an installed package.
    const consumer = path.join(ROOT, 'client-consumer.virtual.ts');
    const source = `
      import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
      import { createBillingGate, UnknownStatusFormatError, type BillingStatus, type GateCheck } from '${PACKAGE}';
      const gate = createBillingGate({
        tableName: 'table',
        client: new DynamoDBClient({}),
        cacheSeconds: 5,
        consistentRead: false,
        onError: 'allow',
        unknownCustomer: 'deny',
        expiryWarningDays: 30,
        logger: console,
        onErrorObserved: (e: Error, customerId: string) => void [e instanceof UnknownStatusFormatError, customerId],
      });
      export async function run(): Promise<boolean> {
        const r: GateCheck = await gate.check('cus_123');
        const source: 'table' | 'cache' | 'error' = r.source;
        const status: BillingStatus | null = r.status;
        const reasons: string[] = status ? status.blockers.map((b) => b.reason) : [];
        // @ts-expect-error: a policy is 'allow' or 'deny'
        createBillingGate({ tableName: 'table', onError: 'block' });
        return r.canAllocate && source !== 'error' && reasons.length === 0;
      }
    `;
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: false,
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (f) => f === consumer || fileExists(f);
    host.readFile = (f) => (f === consumer ? source : readFile(f));
    host.getSourceFile = (f, language, ...rest) =>
      f === consumer
        ? ts.createSourceFile(f, source, language)
        : getSourceFile(f, language, ...rest);

    // Act
    const program = ts.createProgram([consumer], options, host);
    // The consumer and the package's declarations, checked in full (not the SDK's own).
    const checked = [consumer, path.join(DIST, 'index.d.ts')].map((f) => program.getSourceFile(f));
    const diagnostics = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...checked.flatMap((f) => [
        ...program.getSyntacticDiagnostics(f),
        ...program.getSemanticDiagnostics(f),
      ]),
    ];

    // Assess
    expect(checked.every((f) => f !== undefined)).toBe(true);
    const messages = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(messages).toEqual([]);
    const ours = program
      .getSourceFiles()
      .map((f) => f.fileName)
      .filter(
        (f) => f !== consumer && !f.includes('/node_modules/') && !/\/lib\.[\w.]+\.d\.ts$/.test(f),
      );
    expect(ours).toEqual([`${DIST}/index.d.ts`]);
    const declarations = readFileSync(path.join(DIST, 'index.d.ts'), 'utf8');
    expect(declarations).not.toMatch(/from\s+["']\.|import\(["']\.|<reference path=/);
  });
});
