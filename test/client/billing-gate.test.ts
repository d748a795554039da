// The client's options, one by one, against a real table in DynamoDB Local (the shared
// emulators). Status items are built with the functions' own encoders from realistic Stripe
// events and written with PutItem. Faults DynamoDB Local cannot produce (throttling, 5xx,
// access denied, rejected credentials) are injected as HTTP answers through the real
// client's middleware stack, so the SDK's own parser and retry strategy meet them; missing
// tables, another access key, invalid requests, refused connections and silence are real.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClientConfig,
  type GetItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  inject,
  it,
  vi,
} from 'vitest';
import {
  makeBillingGate,
  READY_PROBE_ID,
  SETTINGS_REFRESH_MS,
  type BillingGateLogger,
  type BillingGateOptions,
} from '../../client/src/billing-gate';
import {
  GateNotReadyError,
  GateTimeoutError,
  SettingsFormatError,
  type GateErrorKind,
} from '../../client/src/gate-errors';
import { createBillingGate } from '../../client/src/index';
import type { FactStore } from '../../lambdas/adapters/fact-store';
import { STATUS_ITEM_FORMAT, UnknownStatusFormatError } from '../../lambdas/adapters/status-item';
import {
  SETTINGS_KEY,
  STATUS_ATTR,
  ownerKey,
  statusKey,
} from '../../lambdas/adapters/table-layout';
import { expiryInstant } from '../../lambdas/core/billing-status';
import { parsePolicy, type PolicyDocument } from '../../lambdas/core/policy';
import { applyEvent } from '../../lambdas/processor/apply-event';
import { DEFAULT_GATE_SETTINGS, gateSettings, type GateSettings } from '../../lambdas/settings';
import { newOverrideId } from '../../lambdas/status-api/make-status-api';
import { LOCAL_AWS, freePort } from '../../bin/local/emulators';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { freshTable, itemStatus } from '../support/local-stack';

type Table = Awaited<ReturnType<typeof freshTable>>;

const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const nowSeconds = (ms: number) => Math.floor(ms / 1000);
const ROOT = path.resolve(__dirname, '../..');

let table: string;
let writer: DynamoDBClient;
let store: FactStore;

beforeAll(async () => {
  ({ tableName: table, ddb: writer, store } = await freshTable());
});

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Applies events of `types` for the customer as the processors do (so its status item is the
 * one they write) and, for another `format`, marks the item as written in that format. With
 * `customerAccount`, the events name that Accounts v2 id too (the processors record the alias).
 */
async function stored(
  customer: string,
  types: string[],
  {
    format = STATUS_ITEM_FORMAT,
    created = nowSeconds(NOW_MS) - 3600,
    into = { store, ddb: writer, tableName: table } as Pick<Table, 'store' | 'ddb' | 'tableName'>,
    customerAccount = undefined as string | undefined,
  } = {},
) {
  for (const [i, type] of types.entries()) {
    const event = buildEvent(type, { customer, created: created + i, customerAccount });
    const result = await applyEvent(JSON.stringify(event), type, {
      store: into.store,
      stripe: null,
      clock: () => new Date(),
    });
    expect(result.outcome).toBe('applied');
  }
  if (format !== STATUS_ITEM_FORMAT) {
    const key = statusKey(customer);
    await into.ddb.send(
      new UpdateItemCommand({
        TableName: into.tableName,
        Key: { pk: { S: key.pk }, sk: { S: key.sk } },
        UpdateExpression: 'SET #f = :f',
        ExpressionAttributeNames: { '#f': STATUS_ATTR.format },
        ExpressionAttributeValues: { ':f': { N: String(format) } },
      }),
    );
  }
}

/** What the status API answers for the customer at `ms` (the same item, the same settings). */
const apiStatus = (
  customer: string,
  ms = NOW_MS,
  settings = DEFAULT_GATE_SETTINGS,
  from: FactStore = store,
) => itemStatus(from, customer, new Date(ms), settings);

/** The deployment's settings of a policy document and warning window, as a stack has them. */
const settingsOf = (document: PolicyDocument, expiryWarningDays = 30) =>
  gateSettings(parsePolicy(document), expiryWarningDays);

/** Writes the settings item as the stack does (at deployment, by the sweeper). */
const deploySettings = (into: Table, settings: GateSettings) =>
  into.store.writeSettings({
    policy: settings.policyDocument as Record<string, unknown>,
    expiryWarningDays: settings.expiryWarningDays,
    hash: settings.hash,
    settled: true,
  });

/** The GetItem of the settings item, as the client sends it. */
const settingsRead = (tableName = table, consistent = false) => ({
  TableName: tableName,
  Key: { pk: { S: SETTINGS_KEY.pk }, sk: { S: SETTINGS_KEY.sk } },
  ConsistentRead: consistent,
});

/** How many GetItems of each item family the client sent. */
function readCounts(reads: readonly GetItemCommandInput[]) {
  const counts = { settings: 0, status: 0, alias: 0 };
  for (const read of reads) {
    const pk = read.Key?.pk?.S ?? '';
    if (pk === SETTINGS_KEY.pk) counts.settings += 1;
    else if (pk.startsWith('STATUS#')) counts.status += 1;
    else if (pk.startsWith('REF#')) counts.alias += 1;
    else throw new Error(`unexpected read of ${pk}`);
  }
  return counts;
}

/**
 * A client of DynamoDB Local (the shared emulators) that records the input of every GetItem
 * it sends, the name of every error its sends end with, and when each GetItem starts and ends
 * (`start <pk>`, `end <pk>`, in order). `config` overrides region, credentials, endpoint or
 * retries; `delayMs` holds every send that long before it goes out.
 */
function localClient(config: DynamoDBClientConfig = {}, { delayMs = 0 } = {}) {
  const client = new DynamoDBClient({
    ...LOCAL_AWS,
    endpoint: inject('dynamoEndpoint'),
    ...config,
  });
  const reads: GetItemCommandInput[] = [];
  const failures: string[] = [];
  const timeline: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as GetItemCommandInput;
      const isRead = context.commandName === 'GetItemCommand';
      if (isRead) {
        reads.push(input);
        timeline.push(`start ${input.Key?.pk?.S}`);
      }
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      try {
        return await next(args);
      } catch (error) {
        failures.push((error as Error).name);
        throw error;
      } finally {
        if (isRead) timeline.push(`end ${input.Key?.pk?.S}`);
      }
    },
    { step: 'initialize', name: 'recordReads' },
  );
  return { client, reads, failures, timeline };
}

/** An error answer of DynamoDB, as its JSON protocol puts it on the wire. */
interface WireError {
  readonly status: number;
  readonly type: string;
  readonly message: string;
}

const THROTTLED: WireError = {
  status: 400,
  type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  message: 'The level of configured provisioned throughput for the table was exceeded.',
};
const INTERNAL: WireError = {
  status: 500,
  type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
  message: 'Internal server error',
};
const ACCESS_DENIED: WireError = {
  status: 400,
  type: 'com.amazon.coral.service#AccessDeniedException',
  message:
    'User: arn:aws:sts::123456789012:assumed-role/provisioner/i-1 is not authorized to perform: dynamodb:GetItem',
};
const BAD_TOKEN: WireError = {
  status: 400,
  type: 'com.amazon.coral.service#UnrecognizedClientException',
  message: 'The security token included in the request is invalid.',
};

/**
 * From now on (until `heal()`), every attempt of `client` (or, with `when`, every attempt of
 * a GetItem `when` picks) is answered with `fault` instead of reaching DynamoDB: the
 * middleware sits between the SDK's deserializer and the HTTP handler, so the SDK parses the
 * answer and retries it as it would a real one.
 */
function injectFault(
  client: DynamoDBClient,
  fault: WireError,
  when: (input: GetItemCommandInput) => boolean = () => true,
) {
  let active = true;
  let attempts = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      if (!active || !when(args.input as GetItemCommandInput)) return next(args);
      attempts += 1;
      return {
        output: undefined,
        response: {
          statusCode: fault.status,
          reason: '',
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'x-amzn-requestid': `injected-${attempts}`,
          },
          body: Buffer.from(JSON.stringify({ __type: fault.type, message: fault.message })),
        },
      } as never;
    },
    { step: 'deserialize', priority: 'low', name: `inject-${fault.type}` },
  );
  return {
    heal: () => (active = false),
    attempts: () => attempts,
  };
}

function recordingLogger() {
  const lines: { level: 'warn' | 'error'; message: string; details?: Record<string, unknown> }[] =
    [];
  const logger: BillingGateLogger = {
    warn: (message, details) => lines.push({ level: 'warn', message, details }),
    error: (message, details) => lines.push({ level: 'error', message, details }),
  };
  return { logger, lines };
}

function observer() {
  const observed: { error: Error; customerId: string; kind: GateErrorKind }[] = [];
  const onErrorObserved = (error: Error, customerId: string, kind: GateErrorKind) =>
    void observed.push({ error, customerId, kind });
  return { observed, onErrorObserved };
}

function gateWith(
  client: DynamoDBClient,
  options: Partial<BillingGateOptions> = {},
  clock = { ms: NOW_MS },
  maxCacheEntries = 1000,
) {
  const { logger, lines } = recordingLogger();
  const gate = makeBillingGate(
    { tableName: table, client, logger, ...options },
    { now: () => clock.ms, maxCacheEntries },
  );
  return { gate, lines, clock };
}

/** A TCP server that accepts connections and never answers; `close()` drops them all. */
async function silentServer(): Promise<{ endpoint: string; close: () => void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => {
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
}

describe('a check read from the table', () => {
  it('reads the status item with one GetItem (and, first, the settings item) and answers what the status API does', async () => {
    // Prepare
    const customer = stripeId('cus');
    await stored(customer, ['payment_method.attached', 'invoice.payment_failed']);
    const { client, reads } = localClient();
    const { gate } = gateWith(client);

    // Act
    const r = await gate.check(customer);

    // Assess
    expect(reads).toHaveLength(2);
    expect(reads).toEqual(
      expect.arrayContaining([
        settingsRead(),
        {
          TableName: table,
          Key: { pk: { S: `STATUS#${customer}` }, sk: { S: 'STATUS' } },
          ConsistentRead: false,
        },
      ]),
    );
    expect(r.source).toBe('table');
    expect(r.canAllocate).toBe(false);
    expect(r.status).toEqual(await apiStatus(customer));
    expect(r.status?.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
    expect(r.status?.paymentMethods).toHaveLength(1);
  });

  it('sends the settings read and the status read of a first check together', async () => {
    // Prepare: every read takes 100 ms, so reads one after the other would not overlap.
    const customer = stripeId('cus');
    await stored(customer, ['invoice.paid']);
    const { client, timeline } = localClient({}, { delayMs: 100 });
    const { gate } = gateWith(client);

    // Act
    const r = await gate.check(customer);

    // Assess: both started before either ended.
    expect(r).toMatchObject({ canAllocate: true, source: 'table' });
    expect(timeline).toHaveLength(4);
    expect(timeline.slice(0, 2).sort()).toEqual([`start SETTINGS`, `start STATUS#${customer}`]);
  });

  it('answers canAllocate true for a customer in good standing', async () => {
    const customer = stripeId('cus');
    await stored(customer, ['payment_method.attached', 'invoice.paid']);

    const r = await gateWith(localClient().client).gate.check(customer);

    expect(r).toMatchObject({ canAllocate: true, source: 'table' });
    expect(r.status?.blockers).toEqual([]);
  });

  it("follows an operator's allow override over the blockers, which stay listed", async () => {
    // Prepare: the override as the status API records it.
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed']);
    await store.recordOverride(
      {
        id: newOverrideId(new Date(NOW_MS)),
        customerId: customer,
        mode: 'allow',
        reason: 'paid by wire',
        setAt: new Date(NOW_MS).toISOString(),
        expiresAt: null,
        actor: 'ops@example.com',
      },
      { createRecord: true },
    );

    // Act
    const r = await gateWith(localClient().client).gate.check(customer);

    // Assess
    expect(r.canAllocate).toBe(true);
    expect(r.status?.override).toMatchObject({ mode: 'allow', reason: 'paid by wire' });
    expect(r.status?.blockers.map((b) => b.reason)).toEqual(['payment_failed']);
    expect(r.status).toEqual(await apiStatus(customer));
  });

  it('ends an expiring override at its time, a cached item included', async () => {
    // Prepare: an allow override that expires a minute after NOW_MS.
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed']);
    await store.recordOverride(
      {
        id: newOverrideId(new Date(NOW_MS)),
        customerId: customer,
        mode: 'allow',
        reason: 'one more minute',
        setAt: new Date(NOW_MS).toISOString(),
        expiresAt: nowSeconds(NOW_MS) + 60,
        actor: 'ops@example.com',
      },
      { createRecord: true },
    );
    const { client, reads } = localClient();
    const { gate, clock } = gateWith(client, { cacheSeconds: 300 });

    // Act
    const before = await gate.check(customer);
    clock.ms += 60_000;
    const after = await gate.check(customer);

    // Assess
    expect(before).toMatchObject({ canAllocate: true, source: 'table' });
    expect(after).toMatchObject({ canAllocate: false, source: 'cache' });
    expect(after.status).toEqual(await apiStatus(customer, clock.ms));
    expect(readCounts(reads).status).toBe(1);
  });

  it('passes consistentRead: true through to GetItem', async () => {
    const { client, reads } = localClient();

    await gateWith(client, { consistentRead: true }).gate.check(stripeId('cus'));

    expect(readCounts(reads)).toEqual({ settings: 1, status: 1, alias: 0 });
    expect(reads.map((r) => r.ConsistentRead)).toEqual([true, true]);
  });
});

describe('an Accounts v2 id', () => {
  it("is answered by its customer's status item, read after the alias item", async () => {
    // Prepare: an event named both ids, so the processors recorded the alias.
    const [customer, account] = [stripeId('cus'), stripeId('acct')];
    await stored(customer, ['customer.created', 'invoice.payment_failed'], {
      customerAccount: account,
    });
    const { client, reads, timeline } = localClient({}, { delayMs: 50 });
    const { gate } = gateWith(client);

    // Act
    const r = await gate.check(account);

    // Assess
    expect(r).toMatchObject({ canAllocate: false, source: 'table' });
    expect(r.status).toEqual(await apiStatus(customer));
    expect(r.status).toMatchObject({ customerId: customer, customerAccount: account });
    expect(reads).toContainEqual({
      TableName: table,
      Key: { pk: { S: ownerKey(account).pk }, sk: { S: ownerKey(account).sk } },
      ConsistentRead: false,
      ProjectionExpression: '#p',
      ExpressionAttributeNames: { '#p': 'owner' },
    });
    expect(readCounts(reads)).toEqual({ settings: 1, status: 1, alias: 1 });
    // The settings read overlaps the alias read; the status read waits for the alias.
    const alias = ownerKey(account).pk;
    expect(timeline.slice(0, 2).sort()).toEqual([`start ${alias}`, 'start SETTINGS']);
    expect(timeline.indexOf(`start STATUS#${customer}`)).toBeGreaterThan(
      timeline.indexOf(`end ${alias}`),
    );
  });

  it('keeps the customer of an account: a second check reads the status item only', async () => {
    const [customer, account] = [stripeId('cus'), stripeId('acct')];
    await stored(customer, ['customer.created'], { customerAccount: account });
    const { client, reads } = localClient();
    const { gate } = gateWith(client);

    await gate.check(account);
    const again = await gate.check(account);

    expect(again.status?.customerId).toBe(customer);
    expect(readCounts(reads)).toEqual({ settings: 1, status: 2, alias: 1 });
  });

  it('is answered as an unknown customer while no event has revealed its customer, and asked again', async () => {
    // Prepare
    const [customer, account] = [stripeId('cus'), stripeId('acct')];
    const { client, reads } = localClient();
    const { gate } = gateWith(client, { unknownCustomer: 'deny' });

    // Act
    const unknown = await gate.check(account);
    await stored(customer, ['customer.created'], { customerAccount: account });
    const revealed = await gate.check(account);

    // Assess
    expect(unknown).toEqual({ canAllocate: false, status: null, source: 'table' });
    expect(revealed).toMatchObject({ canAllocate: true, source: 'table' });
    expect(revealed.status?.customerId).toBe(customer);
    expect(readCounts(reads)).toEqual({ settings: 1, status: 1, alias: 2 });
  });

  it('allows an unknown account by default', async () => {
    const r = await gateWith(localClient().client).gate.check(stripeId('acct'));

    expect(r).toEqual({ canAllocate: true, status: null, source: 'table' });
  });
});

describe('unknownCustomer', () => {
  it('allows a customer without a status item by default, with a null status', async () => {
    const { client, reads } = localClient();

    const r = await gateWith(client).gate.check(stripeId('cus'));

    expect(readCounts(reads)).toEqual({ settings: 1, status: 1, alias: 0 });
    expect(r).toEqual({ canAllocate: true, status: null, source: 'table' });
  });

  it("denies such a customer with 'deny'", async () => {
    const r = await gateWith(localClient().client, { unknownCustomer: 'deny' }).gate.check(
      stripeId('cus'),
    );

    expect(r).toEqual({ canAllocate: false, status: null, source: 'table' });
  });

  it('never applies to a known customer', async () => {
    const customer = stripeId('cus');
    await stored(customer, ['invoice.paid']);

    const r = await gateWith(localClient().client, { unknownCustomer: 'deny' }).gate.check(
      customer,
    );

    expect(r.canAllocate).toBe(true);
  });
});

describe('cacheSeconds', () => {
  it('reads the table on every check by default', async () => {
    const customer = stripeId('cus');
    const { client, reads } = localClient();
    const { gate } = gateWith(client);

    const sources = [(await gate.check(customer)).source, (await gate.check(customer)).source];

    expect(sources).toEqual(['table', 'table']);
    expect(readCounts(reads)).toEqual({ settings: 1, status: 2, alias: 0 });
  });

  it('reuses an answer younger than cacheSeconds and reads again once it is that old', async () => {
    // Prepare: the customer is blocked, then pays while the answer is cached.
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed']);
    const { client, reads } = localClient();
    const { gate, clock } = gateWith(client, { cacheSeconds: 60 });
    const first = await gate.check(customer);
    await stored(customer, ['invoice.paid']);

    // Act
    clock.ms += 59_999;
    const cached = await gate.check(customer);
    clock.ms += 1;
    const fresh = await gate.check(customer);

    // Assess
    expect(first).toMatchObject({ canAllocate: false, source: 'table' });
    expect(cached).toMatchObject({ canAllocate: false, source: 'cache' });
    expect(cached.status).toEqual(first.status);
    expect(fresh).toMatchObject({ canAllocate: true, source: 'table' });
    // The settings were a minute old by then too: read again with the status item.
    expect(readCounts(reads)).toEqual({ settings: 2, status: 2, alias: 0 });
  });

  it('caches an unknown customer too, per unknownCustomer', async () => {
    const customer = stripeId('cus');
    const { client, reads } = localClient();
    const { gate } = gateWith(client, { cacheSeconds: 30, unknownCustomer: 'deny' });

    await gate.check(customer);
    const again = await gate.check(customer);

    expect(again).toEqual({ canAllocate: false, status: null, source: 'cache' });
    expect(readCounts(reads)).toEqual({ settings: 1, status: 1, alias: 0 });
  });

  it('keeps answers per customer', async () => {
    const [a, b] = [stripeId('cus'), stripeId('cus')];
    await stored(a, ['invoice.payment_failed']);
    const { client, reads } = localClient();
    const { gate } = gateWith(client, { cacheSeconds: 60 });

    await gate.check(a);
    const other = await gate.check(b);

    expect(other).toEqual({ canAllocate: true, status: null, source: 'table' });
    expect(readCounts(reads)).toEqual({ settings: 1, status: 2, alias: 0 });
  });

  it('lets concurrent checks of one customer share one read while caching', async () => {
    const customer = stripeId('cus');
    const { client, reads } = localClient();
    const { gate } = gateWith(client, { cacheSeconds: 5 });

    const answers = await Promise.all([
      gate.check(customer),
      gate.check(customer),
      gate.check(customer),
    ]);

    expect(readCounts(reads)).toEqual({ settings: 1, status: 1, alias: 0 });
    expect(answers.map((a) => a.source)).toEqual(['table', 'table', 'table']);
  });

  it('prefers a cached answer to the onError policy while it is young enough', async () => {
    // Prepare: one good read, then DynamoDB throttles every request.
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed']);
    const { client } = localClient({ maxAttempts: 1 });
    const { gate, clock, lines } = gateWith(client, { cacheSeconds: 10, onError: 'allow' });
    await gate.check(customer);
    injectFault(client, THROTTLED);

    // Act
    clock.ms += 9_000;
    const young = await gate.check(customer);
    clock.ms += 1_000;
    const expired = await gate.check(customer);

    // Assess
    expect(young).toMatchObject({ canAllocate: false, source: 'cache' });
    expect(expired).toEqual({ canAllocate: true, status: null, source: 'error' });
    expect(lines).toHaveLength(1);
  });

  it('never caches a failed read', async () => {
    const customer = stripeId('cus');
    const { client } = localClient({ maxAttempts: 1 });
    const fault = injectFault(client, THROTTLED);
    const { gate } = gateWith(client, { cacheSeconds: 60 });

    const failed = await gate.check(customer);
    fault.heal();
    const next = await gate.check(customer);

    expect(failed.source).toBe('error');
    expect(next.source).toBe('table');
  });

  it('keeps at most its bound of customers, dropping the oldest read first', async () => {
    const [a, b, c] = [stripeId('cus'), stripeId('cus'), stripeId('cus')];
    const { client, reads } = localClient();
    const { gate, clock } = gateWith(client, { cacheSeconds: 60 }, { ms: NOW_MS }, 2);

    await gate.check(a);
    clock.ms += 1;
    await gate.check(b);
    clock.ms += 1;
    await gate.check(c);
    const sources = [(await gate.check(c)).source, (await gate.check(b)).source];
    const evicted = await gate.check(a);

    expect(sources).toEqual(['cache', 'cache']);
    expect(evicted.source).toBe('table');
    expect(readCounts(reads)).toEqual({ settings: 1, status: 4, alias: 0 });
  });
});

describe('ready()', () => {
  it('resolves once the table answers, reading one status-item key that no customer has and the settings item', async () => {
    // Prepare
    const { client, reads } = localClient();
    const { gate, lines } = gateWith(client);

    // Act
    await gate.ready();

    // Assess
    expect(reads).toEqual([
      {
        TableName: table,
        Key: { pk: { S: `STATUS#${READY_PROBE_ID}` }, sk: { S: 'STATUS' } },
        ConsistentRead: false,
      },
      settingsRead(),
    ]);
    expect(`cus_${READY_PROBE_ID}`).not.toBe(READY_PROBE_ID);
    expect(/^cus_[A-Za-z0-9]+$/.test(READY_PROBE_ID)).toBe(false);
    expect(lines).toEqual([]);
  });

  it('rejects for a table that does not exist, naming it, the region, the endpoint and the access key hint', async () => {
    // Prepare
    const { client } = localClient();
    const gate = makeBillingGate(
      { tableName: `${table}-missing`, client, logger: recordingLogger().logger },
      { now: Date.now, maxCacheEntries: 10 },
    );

    // Act
    const error = (await gate.ready().catch((e: unknown) => e)) as GateNotReadyError;

    // Assess
    expect(error).toBeInstanceOf(GateNotReadyError);
    expect(error).toMatchObject({
      kind: 'configuration',
      problem: 'table_not_found',
      tableName: `${table}-missing`,
    });
    expect((error.cause as Error).name).toBe('ResourceNotFoundException');
    expect(error.message).toContain(
      `table "${table}-missing" not found in region us-east-1 at ${inject('dynamoEndpoint')}`,
    );
    expect(error.message).toContain('separate set of tables per access key id and region');
  });

  it('rejects with table not found when DynamoDB Local is reached with another access key', async () => {
    // Prepare: the table exists, under the key `local`.
    const { client } = localClient({
      credentials: { accessKeyId: 'someoneelse', secretAccessKey: 'local' },
    });
    const { gate } = gateWith(client);
    await expect(gateWith(localClient().client).gate.ready()).resolves.toBeUndefined();

    // Act
    const error = (await gate.ready().catch((e: unknown) => e)) as GateNotReadyError;

    // Assess
    expect(error.problem).toBe('table_not_found');
    expect(error.message).toContain('check the access key id too');
  });

  it('rejects when access is denied, naming the policy to attach', async () => {
    const { client } = localClient();
    injectFault(client, ACCESS_DENIED);

    const error = (await gateWith(client)
      .gate.ready()
      .catch((e: unknown) => e)) as GateNotReadyError;

    expect(error).toMatchObject({ kind: 'configuration', problem: 'access_denied' });
    expect(error.message).toContain(`access denied reading status items of table "${table}"`);
    expect(error.message).toContain('StatusReaderPolicyArn');
    expect(error.message).toContain('is not authorized to perform: dynamodb:GetItem');
  });

  it('rejects when DynamoDB rejects the credentials', async () => {
    const { client } = localClient();
    injectFault(client, BAD_TOKEN);

    const error = (await gateWith(client)
      .gate.ready()
      .catch((e: unknown) => e)) as GateNotReadyError;

    expect(error).toMatchObject({ kind: 'configuration', problem: 'credentials_rejected' });
    expect(error.message).toContain('UnrecognizedClientException');
  });

  it('rejects, as unavailable, when nothing listens at the endpoint', async () => {
    const { client } = localClient({ endpoint: `http://127.0.0.1:${await freePort()}` });

    const error = (await gateWith(client)
      .gate.ready()
      .catch((e: unknown) => e)) as GateNotReadyError;

    expect(error).toMatchObject({ kind: 'unavailable', problem: 'network' });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('rejects naming a missing region, and missing credentials, in a process with no AWS settings', () => {
    // Prepare: a fresh process as a service starts, without any AWS variable or profile.
    const home = mkdtempSync(path.join(tmpdir(), 'billing-gate-home-'));
    const script = `
      import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
      import { createBillingGate } from './client/src/index.ts';
      const why = async (config) => {
        const gate = createBillingGate({ tableName: 'billing', client: new DynamoDBClient(config) });
        return gate.ready().then(() => 'ready', (e) => ({ name: e.name, kind: e.kind, problem: e.problem, message: e.message }));
      };
      console.log(JSON.stringify([await why({}), await why({ region: 'eu-west-1' })]));
    `;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
    env.AWS_EC2_METADATA_DISABLED = 'true';
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

    // Act
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: ROOT, encoding: 'utf8', env },
    );
    rmSync(home, { recursive: true, force: true });

    // Assess
    expect(run.stderr).toBe('');
    const [noRegion, noCredentials] = JSON.parse(run.stdout) as Record<string, string>[];
    expect(noRegion).toMatchObject({
      name: 'GateNotReadyError',
      kind: 'configuration',
      problem: 'no_region',
    });
    expect(noRegion!.message).toContain('no AWS region: set AWS_REGION');
    expect(noCredentials).toMatchObject({ kind: 'configuration', problem: 'no_credentials' });
    expect(noCredentials!.message).toContain('no AWS credentials');
  });

  it('still resolves when the probe key holds an item in a newer format', async () => {
    // Prepare: a status item as the processors write it, copied to the probe key and marked
    // as written in the next format.
    const { client } = localClient();
    const own = await freshTable();
    const probe = stripeId('cus');
    await stored(probe, ['invoice.paid'], { into: own });
    const key = statusKey(probe);
    const { Item: item } = await own.ddb.send(
      new GetItemCommand({
        TableName: own.tableName,
        Key: { pk: { S: key.pk }, sk: { S: key.sk } },
      }),
    );
    const probeItem = {
      ...item!,
      pk: { S: statusKey(READY_PROBE_ID).pk },
      [STATUS_ATTR.format]: { N: String(STATUS_ITEM_FORMAT + 1) },
    };
    await own.ddb.send(new PutItemCommand({ TableName: own.tableName, Item: probeItem }));
    const gate = makeBillingGate(
      { tableName: own.tableName, client, logger: recordingLogger().logger },
      { now: Date.now, maxCacheEntries: 10 },
    );

    // Act, Assess: the same item at a customer's key is refused as newer.
    await expect(gate.ready()).resolves.toBeUndefined();
    await expect(gate.check(probe)).resolves.toMatchObject({ source: 'table' });
    await own.ddb.send(
      new PutItemCommand({ TableName: own.tableName, Item: { ...probeItem, pk: item!.pk! } }),
    );
    await expect(gate.check(probe)).resolves.toMatchObject({ source: 'error' });
  });
});

describe('onError and the two kinds of failure', () => {
  it('answers a missing table per onError (allow by default), logs it at error level and reports it as configuration', async () => {
    // Prepare
    const customer = stripeId('cus');
    const { client } = localClient();
    const { observed, onErrorObserved } = observer();
    const { gate, lines } = gateWith(client, { tableName: `${table}-gone`, onErrorObserved });

    // Act
    const r = await gate.check(customer);

    // Assess
    expect(r).toEqual({ canAllocate: true, status: null, source: 'error' });
    expect(observed.map((o) => [o.error.name, o.customerId, o.kind])).toEqual([
      ['ResourceNotFoundException', customer, 'configuration'],
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      details: {
        customerId: customer,
        kind: 'configuration',
        problem: 'table_not_found',
        onError: 'allow',
      },
    });
    expect(lines[0]!.message).toContain(`table "${table}-gone" not found`);
    expect(lines[0]!.message).toContain('answered per onError (configuration: allow)');
  });

  it('answers throttling (retried by the SDK) per onError, logs it as a warning and reports it as unavailable', async () => {
    // Prepare
    const customer = stripeId('cus');
    const { client } = localClient({ maxAttempts: 2 });
    const fault = injectFault(client, THROTTLED);
    const { observed, onErrorObserved } = observer();
    const { gate, lines } = gateWith(client, { onErrorObserved });

    // Act
    const r = await gate.check(customer);

    // Assess
    expect(r).toEqual({ canAllocate: true, status: null, source: 'error' });
    // Two reads (the settings item, the status item), two attempts each; one failure reported
    // (the check is answered at the first, the other read's retry may still be under way).
    await vi.waitFor(() => expect(fault.attempts()).toBe(4));
    expect(observed.map((o) => [o.error.name, o.kind])).toEqual([
      ['ProvisionedThroughputExceededException', 'unavailable'],
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      details: { kind: 'unavailable', problem: 'throttled', onError: 'allow' },
    });
    expect(String(lines[0]!.details?.error)).toContain(
      'ProvisionedThroughputExceededException: The level of configured provisioned throughput',
    );
  });

  it.each([
    ['an internal server error', INTERNAL, 'unavailable', 'service_error'],
    ['access denied', ACCESS_DENIED, 'configuration', 'access_denied'],
    ['rejected credentials', BAD_TOKEN, 'configuration', 'credentials_rejected'],
  ] as const)('tells %s apart as %s', async (_, fault, kind, problem) => {
    const { client } = localClient({ maxAttempts: 1 });
    injectFault(client, fault);
    const { observed, onErrorObserved } = observer();
    const { gate, lines } = gateWith(client, { onErrorObserved });

    await gate.check(stripeId('cus'));

    expect(observed.map((o) => o.kind)).toEqual([kind]);
    expect(lines.map((l) => [l.level, l.details?.problem])).toEqual([
      [kind === 'configuration' ? 'error' : 'warn', problem],
    ]);
  });

  it('tells an invalid request (a table name DynamoDB refuses) apart as configuration', async () => {
    const { client } = localClient();
    const { observed, onErrorObserved } = observer();
    const { gate, lines } = gateWith(client, { tableName: 'no', onErrorObserved });

    await gate.check(stripeId('cus'));

    expect(observed.map((o) => [o.error.name, o.kind])).toEqual([
      ['ValidationException', 'configuration'],
    ]);
    expect(lines[0]).toMatchObject({ level: 'error', details: { problem: 'invalid_request' } });
  });

  it('tells a refused connection apart as unavailable', async () => {
    const { client } = localClient({
      endpoint: `http://127.0.0.1:${await freePort()}`,
      maxAttempts: 1,
    });
    const { observed, onErrorObserved } = observer();

    await gateWith(client, { onErrorObserved }).gate.check(stripeId('cus'));

    expect(observed.map((o) => o.kind)).toEqual(['unavailable']);
  });

  it('applies a policy per kind: configuration denied, outages allowed', async () => {
    // Prepare
    const onError = { configuration: 'deny' } as const;
    const missing = gateWith(localClient().client, { tableName: `${table}-gone`, onError });
    const throttledClient = localClient({ maxAttempts: 1 }).client;
    injectFault(throttledClient, THROTTLED);
    const throttled = gateWith(throttledClient, { onError });

    // Act
    const [a, b] = [
      await missing.gate.check(stripeId('cus')),
      await throttled.gate.check(stripeId('cus')),
    ];

    // Assess
    expect([a.canAllocate, b.canAllocate]).toEqual([false, true]);
    expect(missing.lines[0]!.message).toContain('answered per onError (configuration: deny)');
    expect(throttled.lines[0]!.message).toContain('answered per onError (unavailable: allow)');
  });

  it('applies a policy per kind: outages denied, configuration allowed', async () => {
    const onError = { unavailable: 'deny' } as const;
    const missing = gateWith(localClient().client, { tableName: `${table}-gone`, onError });
    const throttledClient = localClient({ maxAttempts: 1 }).client;
    injectFault(throttledClient, THROTTLED);
    const throttled = gateWith(throttledClient, { onError });

    const [a, b] = [
      await missing.gate.check(stripeId('cus')),
      await throttled.gate.check(stripeId('cus')),
    ];

    expect([a.canAllocate, b.canAllocate]).toEqual([true, false]);
  });

  it("denies both kinds with 'deny'", async () => {
    const missing = gateWith(localClient().client, { tableName: `${table}-gone`, onError: 'deny' });
    const throttledClient = localClient({ maxAttempts: 1 }).client;
    injectFault(throttledClient, THROTTLED);
    const throttled = gateWith(throttledClient, { onError: 'deny' });

    const [a, b] = [
      await missing.gate.check(stripeId('cus')),
      await throttled.gate.check(stripeId('cus')),
    ];

    expect([a, b]).toEqual([
      { canAllocate: false, status: null, source: 'error' },
      { canAllocate: false, status: null, source: 'error' },
    ]);
  });

  it('keeps a two-argument onErrorObserved working', async () => {
    const calls: unknown[][] = [];
    const customer = stripeId('cus');
    const { gate } = gateWith(localClient().client, {
      tableName: `${table}-gone`,
      onErrorObserved: (error: Error, customerId: string) =>
        void calls.push([error.name, customerId]),
    });

    await gate.check(customer);

    expect(calls).toEqual([['ResourceNotFoundException', customer]]);
  });

  it('logs to console when no logger is given', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    const gate = createBillingGate({ tableName: `${table}-gone`, client: localClient().client });

    const r = await gate.check(stripeId('cus'));

    expect(r.source).toBe('error');
    expect(printed).toHaveBeenCalledTimes(1);
    expect(String(printed.mock.calls[0]![0])).toContain('could not read the billing status');
  });

  it('still answers when onErrorObserved throws, and says so', async () => {
    const { gate, lines } = gateWith(localClient().client, {
      tableName: `${table}-gone`,
      onErrorObserved: () => {
        throw new Error('metrics sink down');
      },
    });

    const r = await gate.check(stripeId('cus'));

    expect(r).toEqual({ canAllocate: true, status: null, source: 'error' });
    expect(lines.map((l) => l.level)).toEqual(['error', 'warn']);
    expect(lines[1]!.message).toContain('onErrorObserved threw');
  });

  it('answers per onError.unavailable when DynamoDB does not answer within timeoutMs, and aborts the read', async () => {
    // Prepare: an endpoint that accepts the connection and never answers.
    const silent = await silentServer();
    const { client, failures } = localClient({ endpoint: silent.endpoint });
    const { observed, onErrorObserved } = observer();
    const { gate } = gateWith(client, {
      timeoutMs: 200,
      onError: { unavailable: 'deny' },
      onErrorObserved,
    });

    try {
      // Act
      const r = await gate.check(stripeId('cus'));

      // Assess: the SDK's own send ended with the abort.
      expect(r).toEqual({ canAllocate: false, status: null, source: 'error' });
      expect(observed[0]!.error).toBeInstanceOf(GateTimeoutError);
      expect(observed[0]!.kind).toBe('unavailable');
      // Both reads of the first check (settings, status item) were aborted.
      expect(observed).toHaveLength(1);
      await vi.waitFor(() => expect(failures).toEqual(['AbortError', 'AbortError']), {
        timeout: 10_000,
      });
    } finally {
      client.destroy();
      silent.close();
    }
  });
});

describe('a status item in a format the client does not know', () => {
  it('is answered per onError.configuration, reported every time and logged once', async () => {
    // Prepare: a newer stack wrote format STATUS_ITEM_FORMAT + 1 for every customer.
    const customers = [stripeId('cus'), stripeId('cus'), stripeId('cus')];
    for (const c of customers)
      await stored(c, ['invoice.paid'], { format: STATUS_ITEM_FORMAT + 1 });
    const { observed, onErrorObserved } = observer();
    const { gate, lines } = gateWith(localClient().client, {
      onError: { configuration: 'deny' },
      onErrorObserved,
    });

    // Act
    const answers = [];
    for (const c of [...customers, customers[0]!]) answers.push(await gate.check(c));

    // Assess
    expect(
      answers.every((a) => a.canAllocate === false && a.source === 'error' && a.status === null),
    ).toBe(true);
    expect(observed).toHaveLength(4);
    expect(observed.every((o) => o.error instanceof UnknownStatusFormatError)).toBe(true);
    expect(new Set(observed.map((o) => o.kind))).toEqual(new Set(['configuration']));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('error');
    expect(lines[0]!.message).toContain(
      `format ${STATUS_ITEM_FORMAT + 1}, newer than this client reads`,
    );
    expect(lines[0]!.message).toContain('upgrade stripe-billing-gate-client');
  });

  it('with the default onError, allows', async () => {
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed'], { format: STATUS_ITEM_FORMAT + 1 });

    const r = await gateWith(localClient().client).gate.check(customer);

    expect(r).toEqual({ canAllocate: true, status: null, source: 'error' });
  });
});

describe('customer ids', () => {
  it.each([
    [''],
    ['cus_'],
    ['cus_abc-1'],
    ['cus_abc 1'],
    ['CUS_abc1'],
    ['acct_'],
    ['acct_1-Abc'],
    ['ACCT_1Abc'],
    [' cus_abc1'],
    ['cus_abc1\n'],
    ['cus_abc1#STATUS'],
    [READY_PROBE_ID],
  ])('refuses %j with a TypeError before reading anything', async (id) => {
    const { client, reads } = localClient();

    await expect(gateWith(client).gate.check(id)).rejects.toThrow(TypeError);
    expect(reads).toEqual([]);
  });

  it('refuses a value that is not a string', async () => {
    await expect(
      gateWith(localClient().client).gate.check(42 as unknown as string),
    ).rejects.toThrow(/"cus_" \(or an Accounts v2 "acct_"\) followed by letters and digits/);
  });
});

describe("the deployment's settings", () => {
  // The fixture's card expires at the end of August 2030; read 40 days before that.
  const readAt = (expiryInstant(8, 2030)! - 40 * 86_400) * 1000;
  const WARN_ON_FAILURE = settingsOf({ payment_failed: { action: 'warn' } });
  const SIXTY_DAYS = settingsOf({}, 60);

  let own: Table;
  beforeEach(async () => {
    own = await freshTable();
  });
  const ownGate = (
    client: DynamoDBClient,
    options: Partial<BillingGateOptions> = {},
    ms = NOW_MS,
  ) => gateWith(client, { tableName: own.tableName, ...options }, { ms });

  it("warns of an expiring card by the settings item's expiryWarningDays, never changing canAllocate", async () => {
    // Prepare: the same customer in a table without settings item (the defaults: 30 days)
    // and in one whose settings say 60 days.
    const customer = stripeId('cus');
    const types = ['payment_method.attached', 'invoice.payment_failed'];
    await stored(customer, types);
    await stored(customer, types, { into: own });
    await deploySettings(own, SIXTY_DAYS);
    const { client } = localClient();

    // Act
    const byDefault = await gateWith(client, {}, { ms: readAt }).gate.check(customer);
    const wider = await ownGate(client, {}, readAt).gate.check(customer);

    // Assess
    expect(byDefault.status?.paymentMethods.map((m) => m.status)).toEqual(['active']);
    expect(byDefault.status?.warnings.map((w) => w.reason)).not.toContain(
      'payment_method_expiring',
    );
    expect(byDefault.status).toEqual(await apiStatus(customer, readAt));
    expect(wider.status?.paymentMethods.map((m) => m.status)).toEqual(['expiring']);
    expect(wider.status?.warnings.map((w) => w.reason)).toContain('payment_method_expiring');
    expect(wider.status).toEqual(await apiStatus(customer, readAt, SIXTY_DAYS, own.store));
    expect([byDefault.canAllocate, wider.canAllocate]).toEqual([false, false]);
  });

  it("answers by the settings item's policy", async () => {
    // Prepare
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed'], { into: own });
    await deploySettings(own, WARN_ON_FAILURE);

    // Act
    const r = await ownGate(localClient().client).gate.check(customer);

    // Assess: payment_failed warns instead of blocking.
    expect(r).toMatchObject({ canAllocate: true, source: 'table' });
    expect(r.status?.blockers).toEqual([]);
    expect(r.status).toEqual(await apiStatus(customer, NOW_MS, WARN_ON_FAILURE, own.store));
    expect(r.status).not.toEqual(
      await apiStatus(customer, NOW_MS, DEFAULT_GATE_SETTINGS, own.store),
    );
  });

  it("ends the policy's grace at its time, a cached item included", async () => {
    // Prepare: the payment failed an hour before NOW_MS; the policy grants two hours.
    const grace = settingsOf({ payment_failed: { action: 'block', grace: '2h' } });
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed'], { into: own });
    await deploySettings(own, grace);
    const { client, reads } = localClient();
    const { gate, clock } = ownGate(client, { cacheSeconds: 7200 });

    // Act
    const inGrace = await gate.check(customer);
    clock.ms += 3600_000;
    const after = await gate.check(customer);

    // Assess
    expect(inGrace).toMatchObject({ canAllocate: true, source: 'table' });
    expect(inGrace.status).toEqual(await apiStatus(customer, NOW_MS, grace, own.store));
    expect(after).toMatchObject({ canAllocate: false, source: 'cache' });
    expect(after.status).toEqual(await apiStatus(customer, clock.ms, grace, own.store));
    expect(readCounts(reads).status).toBe(1);
  });

  it(`reads the settings item once per ${SETTINGS_REFRESH_MS / 1000} s, shared by every check`, async () => {
    // Prepare
    const { client, reads } = localClient();
    const { gate, clock } = ownGate(client);

    // Act
    await Promise.all([gate.check(stripeId('cus')), gate.check(stripeId('cus'))]);
    clock.ms += SETTINGS_REFRESH_MS - 1;
    await gate.check(stripeId('cus'));
    const beforeRefresh = readCounts(reads).settings;
    clock.ms += 1;
    await gate.check(stripeId('cus'));

    // Assess
    expect(SETTINGS_REFRESH_MS).toBe(60_000);
    expect(beforeRefresh).toBe(1);
    expect(readCounts(reads)).toEqual({ settings: 2, status: 4, alias: 0 });
  });

  it('follows a change of policy once the settings are refreshed', async () => {
    // Prepare: the deployment blocks a failed payment, then is redeployed to warn of it.
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed'], { into: own });
    await deploySettings(own, DEFAULT_GATE_SETTINGS);
    const { gate, clock } = ownGate(localClient().client);
    const before = await gate.check(customer);
    await deploySettings(own, WARN_ON_FAILURE);

    // Act
    clock.ms += SETTINGS_REFRESH_MS - 1;
    const stale = await gate.check(customer);
    clock.ms += 1;
    const refreshed = await gate.check(customer);

    // Assess
    expect(before.canAllocate).toBe(false);
    expect(stale.canAllocate).toBe(false);
    expect(refreshed.canAllocate).toBe(true);
    expect(refreshed.status).toEqual(
      await apiStatus(customer, clock.ms, WARN_ON_FAILURE, own.store),
    );
  });

  it('keeps the settings it has when a refresh fails, and tries again at the next check', async () => {
    // Prepare: settings read once, then every read of the settings item is throttled.
    const customer = stripeId('cus');
    await stored(customer, ['invoice.payment_failed'], { into: own });
    await deploySettings(own, WARN_ON_FAILURE);
    const { client, reads } = localClient({ maxAttempts: 1 });
    const { observed, onErrorObserved } = observer();
    const { gate, clock, lines } = ownGate(client, { onError: 'deny', onErrorObserved });
    const first = await gate.check(customer);
    const fault = injectFault(client, THROTTLED, (input) => input.Key?.pk?.S === SETTINGS_KEY.pk);
    await deploySettings(own, DEFAULT_GATE_SETTINGS);

    // Act
    clock.ms += SETTINGS_REFRESH_MS;
    const duringFault = await gate.check(customer);
    fault.heal();
    const healed = await gate.check(customer);

    // Assess: the failed refresh is neither an error answer nor a report.
    expect(first).toMatchObject({ canAllocate: true, source: 'table' });
    expect(fault.attempts()).toBe(1);
    expect(duringFault).toMatchObject({ canAllocate: true, source: 'table' });
    expect(duringFault.status).toEqual(first.status);
    expect(healed).toMatchObject({ canAllocate: false, source: 'table' });
    expect(readCounts(reads).settings).toBe(3);
    expect(observed).toEqual([]);
    expect(lines).toEqual([]);
  });

  it.each([
    ['not JSON', '{"policy":'],
    [
      'a policy this client does not know',
      JSON.stringify({
        policy: { payment_failed: { action: 'pause' } },
        expiryWarningDays: 30,
        hash: 'x',
      }),
    ],
  ])(
    'answers a settings item holding %s per onError.configuration, as settings_format',
    async (_, text) => {
      // Prepare
      const customer = stripeId('cus');
      await stored(customer, ['invoice.paid'], { into: own });
      await own.ddb.send(
        new PutItemCommand({
          TableName: own.tableName,
          Item: {
            pk: { S: SETTINGS_KEY.pk },
            sk: { S: SETTINGS_KEY.sk },
            settings: { S: text },
            hash: { S: 'x' },
          },
        }),
      );
      const { observed, onErrorObserved } = observer();
      const { gate, lines } = ownGate(localClient().client, {
        onError: { configuration: 'deny' },
        onErrorObserved,
      });

      // Act
      const r = await gate.check(customer);
      const notReady = (await gate.ready().catch((e: unknown) => e)) as GateNotReadyError;

      // Assess
      expect(r).toEqual({ canAllocate: false, status: null, source: 'error' });
      expect(observed.map((o) => [o.error.name, o.kind])).toEqual([
        ['SettingsFormatError', 'configuration'],
      ]);
      expect(observed[0]!.error).toBeInstanceOf(SettingsFormatError);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 'error',
        details: { kind: 'configuration', problem: 'settings_format', onError: 'deny' },
      });
      expect(lines[0]!.message).toContain(
        `settings (policy, warning window) in table "${own.tableName}"`,
      );
      expect(notReady).toBeInstanceOf(GateNotReadyError);
      expect(notReady).toMatchObject({ kind: 'configuration', problem: 'settings_format' });
    },
  );

  it('never answers from an item that missed a write refused for its size: per onError.unavailable, as item_oversize', async () => {
    // Prepare: a blocked customer whose item was then marked (a later write was too large).
    const customer = stripeId('cus');
    await stored(customer, ['invoice.paid'], { into: own });
    await own.store.status.markOversize(customer);
    const { observed, onErrorObserved } = observer();
    const { gate, lines } = ownGate(localClient().client, {
      onError: { unavailable: 'deny', configuration: 'allow' },
      onErrorObserved,
    });

    // Act
    const r = await gate.check(customer);

    // Assess
    expect(r).toEqual({ canAllocate: false, status: null, source: 'error' });
    expect(observed.map((o) => [o.error.name, o.kind])).toEqual([
      ['OversizeStatusError', 'unavailable'],
    ]);
    expect(lines[0]).toMatchObject({ details: { kind: 'unavailable', problem: 'item_oversize' } });
    expect(lines[0]!.message).toContain('npm run rebuild');
  });
});

describe('options', () => {
  const client = new DynamoDBClient({ region: 'us-east-1' });
  afterAll(() => client.destroy());

  it.each([
    [{ tableName: '' }, /tableName is required/],
    [
      { tableName: 'billing', onError: 'Allow' },
      /onError must be "allow", "deny" or \{ configuration\?, unavailable\? \}/,
    ],
    [{ tableName: 'billing', onError: ['deny'] }, /onError must be "allow", "deny" or/],
    [
      { tableName: 'billing', onError: { outage: 'deny' } },
      /onError has no kind "outage": the kinds are configuration and unavailable/,
    ],
    [
      { tableName: 'billing', onError: { configuration: 'block' } },
      /onError.configuration must be "allow" or "deny"/,
    ],
    [
      { tableName: 'billing', unknownCustomer: 'block' },
      /unknownCustomer must be "allow" or "deny"/,
    ],
    [{ tableName: 'billing', cacheSeconds: -1 }, /cacheSeconds must be/],
    [{ tableName: 'billing', cacheSeconds: Number.NaN }, /cacheSeconds must be/],
    [
      { tableName: 'billing', expiryWarningDays: 30 },
      /there is no option expiryWarningDays: the warning window is the deployment's/,
    ],
    [
      { tableName: 'billing', policy: { payment_failed: { action: 'warn' } } },
      /there is no option policy: the access policy is the deployment's/,
    ],
    [{ tableName: 'billing', timeoutMs: Number.POSITIVE_INFINITY }, /timeoutMs must be/],
    [{ tableName: 'billing', timeoutMs: 0 }, /timeoutMs must be a finite number of at least 1/],
  ])('refuses %j at creation with a TypeError', (options, message) => {
    const create = () =>
      createBillingGate({ client, ...(options as unknown as BillingGateOptions) });

    expect(create).toThrow(TypeError);
    expect(create).toThrow(message);
  });
});
