// The billing gate as provisioning code sees it: one answer per customer, read with one
// GetItem of the customer's billing-status item and turned into the billing status by the
// same code the status API runs (imported from lambdas/, bundled into dist at build time).

import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  decodeStatusItem,
  UnknownStatusFormatError,
  type Item,
} from '../../lambdas/adapters/status-item';
import { KEY, statusKey } from '../../lambdas/adapters/table-layout';
import { statusFromRecord } from '../../lambdas/core/billing-status';
import type { BillingStatus } from '../../lambdas/core/facts';
import type { StatusRecord } from '../../lambdas/core/status-record';
import { CUSTOMER_ID } from '../../lambdas/core/stripe-event';

/** What to answer when there is no answer from the table. */
export type GatePolicy = 'allow' | 'deny';

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
   * The answer when the table cannot be read (an outage, missing permissions, throttling,
   * or a status item in a format this client does not know). Default `allow`.
   */
  onError?: GatePolicy;
  /** The answer for a customer no applied event has named yet (no status item). Default `allow`. */
  unknownCustomer?: GatePolicy;
  /**
   * How many days before its expiry a card counts as `expiring`. Set it to the stack's
   * `expiryWarningDays` so the client's warnings match the status API's. It only changes
   * warnings, never `canAllocate`. Default 30.
   */
  expiryWarningDays?: number;
  /**
   * How long one check waits for the table, in milliseconds, retries included; after that it
   * is answered per `onError`. Default 3000.
   */
  timeoutMs?: number;
  /** Where read failures are logged. Default `console`. */
  logger?: BillingGateLogger;
  /** Called with every read failure (after it is logged), e.g. to count it in a metric. */
  onErrorObserved?: (error: Error, customerId: string) => void;
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
   * Whether `customerId` may allocate. Rejects with a TypeError for an id that is not `cus_`
   * followed by letters and digits; never rejects because the table cannot be read.
   */
  check(customerId: string): Promise<GateCheck>;
}

/** Knobs for tests: the clock, and how many customers the cache keeps at most. */
export interface GateInternals {
  /** Now, in milliseconds since the epoch. */
  now: () => number;
  maxCacheEntries: number;
}

export const DEFAULT_TIMEOUT_MS = 3000;
/** The stack's own default `expiryWarningDays`. */
export const DEFAULT_EXPIRY_WARNING_DAYS = 30;
const LOG_PREFIX = 'stripe-billing-gate-client';
/** Enough for every active customer of a large service; expired entries go first. */
export const MAX_CACHE_ENTRIES = 50_000;

/** What a table read found (the record, or null: no status item), and when it started. */
interface Found {
  readonly record: StatusRecord | null;
  readonly at: number;
}

/** A read that took longer than `timeoutMs`. */
export class GateTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer from DynamoDB within ${timeoutMs} ms`);
    this.name = 'GateTimeoutError';
  }
}

function policy(name: string, value: unknown): GatePolicy {
  if (value === undefined) return 'allow';
  if (value !== 'allow' && value !== 'deny') {
    throw new TypeError(`${LOG_PREFIX}: ${name} must be "allow" or "deny"`);
  }
  return value;
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
  const tableName = options.tableName;
  const client = options.client ?? new DynamoDBClient({});
  const cacheMs = numberOption('cacheSeconds', options.cacheSeconds, 0, 0) * 1000;
  const consistentRead = options.consistentRead === true;
  const onError = policy('onError', options.onError);
  const unknownCustomer = policy('unknownCustomer', options.unknownCustomer);
  const timeoutMs = numberOption('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
  const expiryWarningDays = numberOption(
    'expiryWarningDays',
    options.expiryWarningDays,
    DEFAULT_EXPIRY_WARNING_DAYS,
    0,
  );
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

  const read = async (customerId: string): Promise<Found> => {
    const at = now();
    const key = statusKey(customerId);
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
          }),
          { abortSignal: abort.signal },
        ),
        deadline,
      ]);
      return { record: got.Item ? decodeStatusItem(got.Item as Item).record : null, at };
    } finally {
      clearTimeout(timer);
    }
  };

  const readShared = (customerId: string): Promise<Found> => {
    if (cacheMs === 0) return read(customerId);
    const pending = reading.get(customerId);
    if (pending) return pending;
    const started = read(customerId).finally(() => reading.delete(customerId));
    reading.set(customerId, started);
    return started;
  };

  const answer = (customerId: string, found: Found, source: 'table' | 'cache'): GateCheck => {
    if (!found.record) return { canAllocate: unknownCustomer === 'allow', status: null, source };
    const status = statusFromRecord(
      customerId,
      found.record,
      Math.floor(now() / 1000),
      expiryWarningDays,
    );
    return { canAllocate: status.canAllocate, status, source };
  };

  const report = (error: Error, customerId: string) => {
    if (error instanceof UnknownStatusFormatError) {
      // Every item of the newer stack fails alike: once is enough to say what to upgrade.
      if (!formatsLogged.has(error.format)) {
        formatsLogged.add(error.format);
        logger.error(
          `${LOG_PREFIX}: the table holds status items in format ${error.format}, newer than this client reads; upgrade stripe-billing-gate-client. Until then every such customer is answered per onError (${onError})`,
          { format: error.format, onError },
        );
      }
    } else {
      logger.error(
        `${LOG_PREFIX}: could not read the billing status; answered per onError (${onError})`,
        { customerId, onError, error: `${error.name}: ${error.message}` },
      );
    }
    if (!options.onErrorObserved) return;
    try {
      options.onErrorObserved(error, customerId);
    } catch (thrown) {
      logger.warn(`${LOG_PREFIX}: onErrorObserved threw`, { error: String(thrown) });
    }
  };

  return {
    async check(customerId: string): Promise<GateCheck> {
      if (typeof customerId !== 'string' || !CUSTOMER_ID.test(customerId)) {
        throw new TypeError(
          `${LOG_PREFIX}: a customer id is "cus_" followed by letters and digits`,
        );
      }
      const cached = cache.get(customerId);
      if (cached && now() - cached.at < cacheMs) return answer(customerId, cached, 'cache');
      try {
        const found = await readShared(customerId);
        if (cacheMs > 0) remember(customerId, found);
        return answer(customerId, found, 'table');
      } catch (thrown) {
        report(asError(thrown), customerId);
        return { canAllocate: onError === 'allow', status: null, source: 'error' };
      }
    },
  };
}
