// The `stripe` client shared by the operator commands that read or change the Stripe account
// (reconcile, backfill, register-endpoint): key from STRIPE_API_KEY, API host from
// STRIPE_API_BASE, and retries that survive rate limiting.
//
// Why a wrapped HTTP client: stripe-node (23.x, RequestSender._shouldRetry) retries
// connection errors, 409 and 5xx under `maxNetworkRetries`, but a 429 only when Stripe adds
// `Stripe-Should-Retry: true`, and it never reads `Retry-After`. Stripe's rate-limit guide
// asks clients to back off and retry 429s, so the transport below retries them itself,
// waiting `Retry-After` when given, else an exponential backoff, and giving up when Stripe
// says `Stripe-Should-Retry: false`. Being below the SDK, it keeps auto-pagination intact.

import Stripe from 'stripe';
import { optionalString, type Env } from '../../lambdas/config';
import { ConfigError } from '../../lambdas/core/errors';
import { ENV } from '../../lambdas/lambda-env';
import { isStripeApiKey } from '../../lambdas/adapters/stripe-api';

export type StripeKeyMode = 'live' | 'test';

type HttpClient = ReturnType<typeof Stripe.createNodeHttpClient>;
type HttpResponse = Awaited<ReturnType<HttpClient['makeRequest']>>;

export interface RateLimitNotice {
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** Where the delay came from. */
  basis: 'retry-after' | 'backoff';
}

export interface StripeClientOptions {
  /** Retries of one request answered 429. @default 8 */
  maxRateLimitRetries?: number;
  /** SDK retries of connection errors, 409 and 5xx. @default 3 */
  maxNetworkRetries?: number;
  /** Told before each wait on a 429 (progress output). */
  onRateLimited?: (notice: RateLimitNotice) => void;
  /** Waits; injectable so tests can record the delays instead of sleeping them. */
  sleep?: (ms: number) => Promise<void>;
}

/** Longest wait honoured from `Retry-After`; a larger hint is capped, not ignored. */
const MAX_RETRY_AFTER_MS = 60_000;
const BACKOFF_INITIAL_MS = 500;
const BACKOFF_MAX_MS = 16_000;

/** STRIPE_API_KEY, validated; the message never contains the value. */
export function stripeApiKey(env: Env): string {
  const key = optionalString(env, ENV.apiKey)?.trim();
  if (key === undefined) {
    throw new ConfigError(
      `${ENV.apiKey} is required: a Stripe secret key (sk_live_/sk_test_...) or a restricted key (rk_...)`,
    );
  }
  if (!isStripeApiKey(key)) {
    throw new ConfigError(
      `${ENV.apiKey} is not a Stripe API key: expected sk_live_, sk_test_, rk_live_ or rk_test_ followed by letters and digits`,
    );
  }
  return key;
}

/** Whether a key acts on live or test data (`sk_live_...`/`rk_live_...` are live). */
export function stripeKeyMode(key: string): StripeKeyMode {
  return /^(sk|rk)_live_/.test(key) ? 'live' : 'test';
}

export interface ApiLocation {
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

/** STRIPE_API_BASE (`http://127.0.0.1:12111`), or Stripe's own API when unset. */
export function stripeApiLocation(env: Env): ApiLocation {
  const value = optionalString(env, ENV.apiBase)?.trim();
  if (value === undefined) return { host: 'api.stripe.com', port: 443, protocol: 'https' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${ENV.apiBase} must be an http(s) URL, got "${value}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new ConfigError(`${ENV.apiBase} must be an http(s) URL, got "${value}"`);
  }
  if (url.pathname !== '/' || url.search !== '' || url.username !== '') {
    throw new ConfigError(
      `${ENV.apiBase} must be a scheme, host and optional port only (the client adds /v1/...), got "${value}"`,
    );
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, protocol };
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = (res.getHeaders() as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP date), or null. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | null {
  if (value === undefined || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

function backoffMs(attempt: number): number {
  const ceiling = Math.min(BACKOFF_INITIAL_MS * 2 ** (attempt - 1), BACKOFF_MAX_MS);
  // Jitter in [ceiling/2, ceiling]: several operators backing off do not retry in step.
  return Math.round(ceiling * (0.5 + Math.random() / 2));
}

async function discard(res: HttpResponse): Promise<void> {
  if (typeof res.dispose === 'function') res.dispose();
  else await Promise.resolve(res.toJSON()).catch(() => undefined);
}

/** The SDK's own Node transport, retrying 429s as Stripe asks. */
export function rateLimitAwareHttpClient(options: StripeClientOptions = {}): HttpClient {
  const inner = Stripe.createNodeHttpClient();
  const maxRetries = options.maxRateLimitRetries ?? 8;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const client: HttpClient = Object.create(inner) as HttpClient;
  client.makeRequest = async (...args) => {
    for (let attempt = 1; ; attempt++) {
      const res = await inner.makeRequest(...args);
      if (res.getStatusCode() !== 429 || attempt > maxRetries) return res;
      if (header(res, 'stripe-should-retry') === 'false') return res;
      const hinted = retryAfterMs(header(res, 'retry-after'));
      const delayMs = hinted ?? backoffMs(attempt);
      await discard(res);
      options.onRateLimited?.({
        attempt,
        delayMs,
        basis: hinted === null ? 'backoff' : 'retry-after',
      });
      await sleep(delayMs);
    }
  };
  return client;
}

/** A `stripe` client for the operator commands, from STRIPE_API_KEY and STRIPE_API_BASE. */
export function makeStripeClient(env: Env, options: StripeClientOptions = {}): Stripe {
  const key = stripeApiKey(env);
  const location = stripeApiLocation(env);
  return new Stripe(key, {
    host: location.host,
    port: location.port,
    protocol: location.protocol,
    maxNetworkRetries: options.maxNetworkRetries ?? 3,
    httpClient: rateLimitAwareHttpClient(options),
    timeout: 30_000,
    telemetry: false,
    appInfo: { name: 'stripe-billing-gate' },
  });
}

/**
 * A failed Stripe call as an error that prints well through args.ts's runCommand (the SDK's
 * errors are all named "Error"): named after the SDK's error type, with the HTTP status and
 * Stripe's message, which never echoes more than the key's last four characters.
 */
export function explainStripeError(err: unknown): unknown {
  if (!(err instanceof Stripe.errors.StripeError)) return err;
  const status = err.statusCode === undefined ? '' : `HTTP ${err.statusCode}: `;
  const explained = new Error(`${status}${err.message}`);
  explained.name = err.type;
  return explained;
}
