// The billing gate as provisioning code sees it: one answer per customer, read with one
// GetItem of the customer's billing-status item and turned into the billing status by the
// same code the status API runs (imported from lambdas/, bundled into dist at build time),
// under the deployment's own policy and warning window (its settings item, re-read each
// minute); `ready()` proves at start-up that the table can be read at all.

import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  decodeSettingsItem,
  SETTINGS_KEY,
  statusSettingsOf,
} from '../../lambdas/adapters/settings-item';
import {
  decodeStatusItem,
  OversizeStatusError,
  UnknownStatusFormatError,
  type Item,
} from '../../lambdas/adapters/status-item';
import { KEY, ownerKey, statusKey } from '../../lambdas/adapters/table-layout';
import { statusFromRecord, type StatusSettings } from '../../lambdas/core/billing-status';
import type { BillingStatus } from '../../lambdas/core/facts';
import type { StatusRecord } from '../../lambdas/core/status-record';
import { ACCOUNT_ID, CUSTOMER_ID } from '../../lambdas/core/stripe-event';
import {
  explain,
  GATE_ERROR_KINDS,
  GateNotReadyError,
  GateTimeoutError,
  PROBLEM_KIND,
  problemOf,
  SettingsFormatError,
  type GateErrorKind,
  type ReadTarget,
} from './gate-errors';

export { GateTimeoutError };

/** What to answer when there is no answer from the table. */
export type GatePolicy = 'allow' | 'deny';

/**
 * `onError`: one answer for every failed read, or one per kind of failure (each kind not
 * named answers `allow`).
 */
export type GateErrorPolicy = GatePolicy | { configuration?: GatePolicy; unavailable?: GatePolicy };

/** Where the client writes what it could not read. `console` fits. */
export interface BillingGateLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

export interface BillingGateOptions {
  /** The table of the billing gate stack: its `TableName` output. */
  tableName: string;
  /** The DynamoDB client to read with (region, credentials, endpoint). Default `new DynamoDBClient({})`. */
  client?: DynamoDBClient;
  /**
   * How long an answer read from the table is reused for the same customer, in seconds.
   * Default 0: every check reads the table.
   */
  cacheSeconds?: number;
  /**
   * Strongly consistent reads: a check sees every status change committed before it starts.
   * Default false: an eventually consistent read costs half, and may miss a change committed
   * within about the last second.
   */
  consistentRead?: boolean;
  /**
   * The answer when the table cannot be read, for both kinds of failure or per kind:
   * `configuration` (no such table, access denied, no region or credentials, an invalid
   * request, a status item in a format this client does not know: fixed only by changing
   * the setup) and `unavailable` (throttling, timeouts, the network, DynamoDB's 5xx: an
   * outage). Default `allow` for both; call `ready()` at start-up so that a misconfigured
   * service stops there instead of allowing every customer.
   */
  onError?: GateErrorPolicy;
  /**
   * The answer for a customer no applied event has named yet (no status item), and for an
   * Accounts v2 `acct_` id whose customer no event has revealed. Default `allow`.
   */
  unknownCustomer?: GatePolicy;
  /**
   * How long one check waits for the table, in milliseconds, retries included; after that it
   * is answered per `onError`. Default 3000.
   */
  timeoutMs?: number;
  /**
   * Where read failures are logged: configuration errors at `error`, outages at `warn`.
   * Default `console`.
   */
  logger?: BillingGateLogger;
  /**
   * Called with every read failure (after it is logged), e.g. to count it in a metric:
   * the error as thrown, the customer checked, and the kind of failure.
   */
  onErrorObserved?: (error: Error, customerId: string, kind: GateErrorKind) => void;
}

/** The answer of one check. */
export interface GateCheck {
  /** Whether the customer may allocate more resources now. */
  canAllocate: boolean;
  /**
   * The billing status, as the status API returns it; null for a customer no event has named
   * yet, and when the table could not be read (`source: 'error'`).
   */
  status: BillingStatus | null;
  /** `table`: read now; `cache`: an answer read within `cacheSeconds`; `error`: per `onError`. */
  source: 'table' | 'cache' | 'error';
}

export interface BillingGate {
  /**
   * Whether the customer may allocate: `customerId` is its `cus_` id or its Accounts v2
   * `acct_` id (the status then names the `cus_` id, with `customerAccount`). Rejects with a
   * TypeError for any other id; never rejects because the table cannot be read.
   */
  check(customerId: string): Promise<GateCheck>;
  /**
   * Resolves once the table has answered a read with this client and the deployment's
   * settings are read; rejects with a GateNotReadyError naming the cause (table not found,
   * access denied, no region, no credentials, ...) otherwise. Call it at start-up. It reads
   * one status item key that no customer has and the settings item, so the
   * `StatusReaderPolicyArn` policy suffices (no DescribeTable).
   */
  ready(): Promise<void>;
}

/** Knobs for tests: the clock, and how many customers the cache keeps at most. */
export interface GateInternals {
  /** Now, in milliseconds since the epoch. */
  now: () => number;
  maxCacheEntries: number;
}

export const DEFAULT_TIMEOUT_MS = 3000;
/**
 * How long the deployment's settings (policy, warning window) are reused before the next
 * check reads them again: a deployment that changes the policy reaches every client within it.
 */
export const SETTINGS_REFRESH_MS = 60_000;
const LOG_PREFIX = 'stripe-billing-gate-client';

/** Options of earlier versions that the deployment now decides, with what to do instead. */
const REMOVED_OPTIONS: Readonly<Record<string, string>> = {
  expiryWarningDays:
    "the warning window is the deployment's (its settings item); remove the option, the client reads it",
  policy: "the access policy is the deployment's (its settings item); the client reads it",
};
/** Enough for every active customer of a large service; expired entries go first. */
export const MAX_CACHE_ENTRIES = 50_000;

/** What a table read found (the record, or null: no status item), and when it started. */
interface Found {
  readonly record: StatusRecord | null;
  readonly at: number;
}

/**
 * The customer id of the status item `ready()` reads: in the status items' key family (so the
 * status reader policy allows it) but not a customer id, so no processor ever writes it.
 */
export const READY_PROBE_ID = 'ready-probe';

function policy(name: string, value: unknown): GatePolicy {
  if (value === undefined) return 'allow';
  if (value !== 'allow' && value !== 'deny') {
    throw new TypeError(`${LOG_PREFIX}: ${name} must be "allow" or "deny"`);
  }
  return value;
}

function errorPolicies(value: unknown): Readonly<Record<GateErrorKind, GatePolicy>> {
  if (value === undefined || value === 'allow' || value === 'deny') {
    const both = value ?? 'allow';
    return { configuration: both, unavailable: both };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${LOG_PREFIX}: onError must be "allow", "deny" or { configuration?, unavailable? }`,
    );
  }
  const unknown = Object.keys(value).filter((k) => !(GATE_ERROR_KINDS as string[]).includes(k));
  if (unknown.length > 0) {
    throw new TypeError(
      `${LOG_PREFIX}: onError has no kind ${unknown.map((k) => `"${k}"`).join(', ')}: the kinds are configuration and unavailable`,
    );
  }
  const byKind = value as Record<string, unknown>;
  return {
    configuration: policy('onError.configuration', byKind.configuration),
    unavailable: policy('onError.unavailable', byKind.unavailable),
  };
}

function numberOption(name: string, value: unknown, fallback: number, min: 0 | 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new TypeError(`${LOG_PREFIX}: ${name} must be a finite number of at least ${min}`);
  }
  return value;
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** A gate over the billing gate table. See BillingGateOptions for each option's default. */
export function createBillingGate(options: BillingGateOptions): BillingGate {
  return makeBillingGate(options, { now: Date.now, maxCacheEntries: MAX_CACHE_ENTRIES });
}

export function makeBillingGate(
  options: BillingGateOptions,
  internals: GateInternals,
): BillingGate {
  if (typeof options?.tableName !== 'string' || options.tableName.length === 0) {
    throw new TypeError(`${LOG_PREFIX}: tableName is required (the stack's TableName output)`);
  }
  for (const [name, instead] of Object.entries(REMOVED_OPTIONS)) {
    if (name in options)
      throw new TypeError(`${LOG_PREFIX}: there is no option ${name}: ${instead}`);
  }
  const tableName = options.tableName;
  const client = options.client ?? new DynamoDBClient({});
  const cacheMs = numberOption('cacheSeconds', options.cacheSeconds, 0, 0) * 1000;
  const consistentRead = options.consistentRead === true;
  const onError = errorPolicies(options.onError);
  const unknownCustomer = policy('unknownCustomer', options.unknownCustomer);
  const timeoutMs = numberOption('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
  const logger: BillingGateLogger = options.logger ?? console;
  const { now, maxCacheEntries } = internals;

  /** customer -> what the table said, and when (insertion order: oldest first). */
  const cache = new Map<string, Found>();
  /** Reads under way, shared by concurrent checks of one customer while caching. */
  const reading = new Map<string, Promise<Found>>();
  const formatsLogged = new Set<number>();

  const remember = (customerId: string, found: Found) => {
    if (cache.get(customerId) === found) return; // a shared read, already kept
    cache.delete(customerId); // re-inserted last: the map stays ordered by read time
    cache.set(customerId, found);
    if (cache.size <= maxCacheEntries) return;
    for (const [id, entry] of cache) {
      if (found.at - entry.at >= cacheMs) cache.delete(id);
    }
    for (const id of cache.keys()) {
      if (cache.size <= maxCacheEntries) break;
      cache.delete(id);
    }
  };

  /** Where reads go, for messages; the client's config is read once. */
  let target: Promise<ReadTarget> | undefined;
  const readTarget = () =>
    (target ??= (async () => {
      const region = await client.config.region().catch(() => undefined);
      const custom = await client.config.endpoint?.().catch(() => undefined);
      const endpoint = custom
        ? `${custom.protocol}//${custom.hostname}${custom.port ? `:${custom.port}` : ''}`
        : undefined;
      return { tableName, region, endpoint };
    })());

  /** One GetItem within the check's deadline (retries included), then aborted. */
  const getItem = async (
    key: { pk: string; sk: string },
    projection?: string,
  ): Promise<Item | undefined> => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new GateTimeoutError(timeoutMs));
      }, timeoutMs);
    });
    try {
      const got = await Promise.race([
        client.send(
          new GetItemCommand({
            TableName: tableName,
            Key: { [KEY.pk]: { S: key.pk }, [KEY.sk]: { S: key.sk } },
            ConsistentRead: consistentRead,
            ...(projection
              ? { ProjectionExpression: '#p', ExpressionAttributeNames: { '#p': projection } }
              : {}),
          }),
          { abortSignal: abort.signal },
        ),
        deadline,
      ]);
      return got.Item as Item | undefined;
    } finally {
      clearTimeout(timer);
    }
  };

  const read = async (customerId: string): Promise<Found> => {
    const at = now();
    const item = await getItem(statusKey(customerId));
    const stored = item ? decodeStatusItem(item) : null;
    // An item that missed a write refused for its size must not answer (it may be stale).
    if (stored?.oversize) throw new OversizeStatusError(customerId);
    return { record: stored?.record ?? null, at };
  };

  const readShared = (customerId: string): Promise<Found> => {
    if (cacheMs === 0) return read(customerId);
    const pending = reading.get(customerId);
    if (pending) return pending;
    const started = read(customerId).finally(() => reading.delete(customerId));
    reading.set(customerId, started);
    return started;
  };

  // The deployment's settings: read at the first check (or ready()) and again once older
  // than SETTINGS_REFRESH_MS; one read shared by concurrent checks. When a refresh fails,
  // the settings read before still answer (they change only with a deployment).
  let settings: { value: StatusSettings; at: number } | undefined;
  let settingsReading: Promise<StatusSettings> | undefined;
  const readSettings = async (): Promise<StatusSettings> => {
    const at = now();
    const item = await getItem(SETTINGS_KEY);
    let value: StatusSettings;
    try {
      // No settings item: a stack older than the settings, whose answers are the defaults'.
      value = statusSettingsOf(item ? decodeSettingsItem(item) : null);
    } catch (thrown) {
      throw new SettingsFormatError(thrown);
    }
    settings = { value, at };
    return value;
  };
  const currentSettings = async (): Promise<StatusSettings> => {
    if (settings && now() - settings.at < SETTINGS_REFRESH_MS) return settings.value;
    settingsReading ??= readSettings().finally(() => (settingsReading = undefined));
    try {
      return await settingsReading;
    } catch (thrown) {
      if (settings) return settings.value;
      throw thrown;
    }
  };

  // Accounts v2 ids: an account's customer never changes once revealed, so it is kept (up
  // to maxCacheEntries); an id with no customer yet is asked again at the next check.
  const accounts = new Map<string, string>();
  const customerOf = async (id: string): Promise<string | null> => {
    if (!ACCOUNT_ID.test(id)) return id;
    const known = accounts.get(id);
    if (known) return known;
    const item = await getItem(ownerKey(id), 'owner');
    const owner = item?.owner?.S ?? null;
    if (owner && CUSTOMER_ID.test(owner)) {
      if (accounts.size >= maxCacheEntries) accounts.delete(accounts.keys().next().value!);
      accounts.set(id, owner);
      return owner;
    }
    return null;
  };

  /** The customer's status item, from the cache or the table; null: an unknown acct_ id. */
  const lookUp = async (
    id: string,
  ): Promise<{ customerId: string; found: Found; source: 'table' | 'cache' } | null> => {
    const customerId = await customerOf(id);
    if (customerId === null) return null;
    const cached = cache.get(customerId);
    if (cached && now() - cached.at < cacheMs)
      return { customerId, found: cached, source: 'cache' };
    const found = await readShared(customerId);
    if (cacheMs > 0) remember(customerId, found);
    return { customerId, found, source: 'table' };
  };

  const answer = (
    customerId: string,
    found: Found,
    source: 'table' | 'cache',
    current: StatusSettings,
  ): GateCheck => {
    if (!found.record) return { canAllocate: unknownCustomer === 'allow', status: null, source };
    // Time is evaluated now, a cached item's included (grace ends, overrides expire).
    const status = statusFromRecord(customerId, found.record, Math.floor(now() / 1000), current);
    return { canAllocate: status.canAllocate, status, source };
  };

  const report = async (error: Error, customerId: string): Promise<GateErrorKind> => {
    const problem = problemOf(error);
    const kind = PROBLEM_KIND[problem];
    const answer = onError[kind];
    if (error instanceof UnknownStatusFormatError) {
      // Every item of the newer stack fails alike: once is enough to say what to upgrade.
      if (!formatsLogged.has(error.format)) {
        formatsLogged.add(error.format);
        logger.error(
          `${LOG_PREFIX}: the table holds status items in format ${error.format}, newer than this client reads; upgrade stripe-billing-gate-client. Until then every such customer is answered per onError (${kind}: ${answer})`,
          { format: error.format, kind, onError: answer },
        );
      }
    } else {
      const message = `${LOG_PREFIX}: could not read the billing status: ${explain(problem, error, await readTarget())}; answered per onError (${kind}: ${answer})`;
      const details = {
        customerId,
        kind,
        problem,
        onError: answer,
        error: `${error.name}: ${error.message}`,
      };
      // A broken setup fails every check until someone fixes it; an outage passes.
      if (kind === 'configuration') logger.error(message, details);
      else logger.warn(message, details);
    }
    if (options.onErrorObserved) {
      try {
        options.onErrorObserved(error, customerId, kind);
      } catch (thrown) {
        logger.warn(`${LOG_PREFIX}: onErrorObserved threw`, { error: String(thrown) });
      }
    }
    return kind;
  };

  const notReady = async (error: Error): Promise<GateNotReadyError> => {
    const problem = problemOf(error);
    return new GateNotReadyError(
      problem,
      tableName,
      `${LOG_PREFIX}: not ready: ${explain(problem, error, await readTarget())}`,
      error,
    );
  };

  return {
    async check(id: string): Promise<GateCheck> {
      if (typeof id !== 'string' || !(CUSTOMER_ID.test(id) || ACCOUNT_ID.test(id))) {
        throw new TypeError(
          `${LOG_PREFIX}: a customer id is "cus_" (or an Accounts v2 "acct_") followed by letters and digits`,
        );
      }
      try {
        // The settings are read (when due) while the status item is: a first check takes
        // one round trip, not two. An acct_ id's alias comes before its status item.
        const [current, looked] = await Promise.all([currentSettings(), lookUp(id)]);
        if (looked === null) {
          return { canAllocate: unknownCustomer === 'allow', status: null, source: 'table' };
        }
        return answer(looked.customerId, looked.found, looked.source, current);
      } catch (thrown) {
        const kind = await report(asError(thrown), id);
        return { canAllocate: onError[kind] === 'allow', status: null, source: 'error' };
      }
    },

    async ready(): Promise<void> {
      try {
        // Region and credentials first, outside the read's deadline: the default chain may
        // take seconds to find no credentials, and that is the cause to name, not a timeout.
        await client.config.region();
        await client.config.credentials();
        // The item's content is never looked at: a probe read that gets an answer suffices.
        await read(READY_PROBE_ID).catch((thrown: unknown) => {
          // An item of a newer format would still prove the table readable.
          if (!(thrown instanceof UnknownStatusFormatError)) throw thrown;
        });
        await readSettings();
      } catch (thrown) {
        throw await notReady(asError(thrown));
      }
    },
  };
}
