// The verifier handler with an injected queue port and secrets source: every answer of
// docs/behaviour.md#the-webhook-verifier, what is queued, what is logged and counted.
import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { buildEvent, signatureHeader } from '../../bin/events/stripe-events';
import type { QueuedEvent } from '../../lambdas/adapters/event-queue';
import { QueueUnavailableError } from '../../lambdas/core/errors';
import { METRICS } from '../../lambdas/core/metric-names';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import type { Logger, Metrics } from '../../lambdas/observability';
import { makeVerifierHandler, type VerifierDeps } from '../../lambdas/verifier/make-verifier';
import { testLogger, testMetrics } from '../support/telemetry';

const SECRET = 'whsec_unit_test_secret';
const SECRETS = [SECRET];

function setup(overrides: Partial<VerifierDeps> = {}) {
  const queued: QueuedEvent[] = [];
  const secretReads: ('cached' | 'refresh')[] = [];
  const handler = makeVerifierHandler({
    secrets: async (options) => {
      secretReads.push(options?.refresh ? 'refresh' : 'cached');
      return SECRETS;
    },
    queue: { send: async (e) => void queued.push(e) },
    enabledTypes: new Set(HANDLED_TYPES),
    stripeMode: null,
    toleranceSeconds: 300,
    clock: () => new Date(),
    logger: testLogger,
    metrics: testMetrics,
    ...overrides,
  });
  return { handler, queued, secretReads };
}

function request(
  body: string | Buffer | undefined,
  headers: Record<string, string>,
  { method = 'POST', base64 = false } = {},
): APIGatewayProxyEventV2 {
  const text =
    body === undefined
      ? undefined
      : base64
        ? Buffer.from(body).toString('base64')
        : body.toString();
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers,
    requestContext: { http: { method } } as APIGatewayProxyEventV2['requestContext'],
    ...(text === undefined ? {} : { body: text }),
    isBase64Encoded: base64,
  };
}

const signed = (payload: string | Buffer, secret = SECRET) => ({
  'stripe-signature': signatureHeader(payload.toString(), secret),
});
const payloadOf = (type: string, options = {}) =>
  JSON.stringify(buildEvent(type, options), null, 2);
const bodyOf = (res: { body?: string }) => JSON.parse(res.body!) as Record<string, unknown>;

describe('the verifier handler', () => {
  it('queues a verified event of a handled type, then answers 200 queued', async () => {
    const { handler, queued } = setup();
    const payload = payloadOf('invoice.payment_failed', { id: 'evt_q1' });

    const res = await handler(request(payload, signed(payload)));

    expect(res.statusCode).toBe(200);
    expect(bodyOf(res)).toEqual({ received: true, id: 'evt_q1', queued: true });
    expect(queued).toEqual([
      { id: 'evt_q1', type: 'invoice.payment_failed', livemode: false, body: payload },
    ]);
  });

  it('answers JSON with a content type', async () => {
    const { handler } = setup();
    const payload = payloadOf('invoice.paid');

    const res = await handler(request(payload, signed(payload)));

    expect(res.headers).toMatchObject({ 'content-type': 'application/json' });
  });

  it('does not answer before the queue has accepted the event', async () => {
    let accept: () => void = () => undefined;
    const { handler } = setup({
      queue: { send: () => new Promise<void>((resolve) => (accept = resolve)) },
    });
    const payload = payloadOf('invoice.paid');
    let answered = false;

    const pending = handler(request(payload, signed(payload))).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setImmediate(r));
    const before = answered;
    accept();

    expect(before).toBe(false);
    expect((await pending).statusCode).toBe(200);
  });

  it('decodes a base64 body and queues its exact text', async () => {
    const { handler, queued } = setup();
    const payload = payloadOf('charge.failed', { object: { description: 'café — 東京' } });

    const res = await handler(request(payload, signed(payload), { base64: true }));

    expect(res.statusCode).toBe(200);
    expect(queued[0]?.body).toBe(payload);
  });

  it.each(['Stripe-Signature', 'STRIPE-SIGNATURE', 'stripe-signature'])(
    'reads the %s header case-insensitively',
    async (name) => {
      const { handler } = setup();
      const payload = payloadOf('invoice.paid');

      const res = await handler(request(payload, { [name]: signatureHeader(payload, SECRET) }));

      expect(res.statusCode).toBe(200);
    },
  );

  describe('413, before any other work', () => {
    it.each([
      ['a text body over 1,000,000 bytes', request('x'.repeat(1_000_001), {})],
      [
        'a base64 body decoding to over 1,000,000 bytes',
        request('x'.repeat(1_000_001), {}, { base64: true }),
      ],
      ['a body of fewer characters but more UTF-8 bytes', request('é'.repeat(500_001), {})],
      [
        'an oversized body sent with another method',
        request('x'.repeat(1_000_001), {}, { method: 'GET' }),
      ],
    ])('refuses %s without reading a secret or queueing', async (_name, event) => {
      const { handler, queued, secretReads } = setup();

      const res = await handler(event);

      expect(res.statusCode).toBe(413);
      expect(bodyOf(res).error).toMatch(/1000000-byte limit/);
      expect(secretReads).toEqual([]);
      expect(queued).toEqual([]);
    });

    it('lets a body of exactly 1,000,000 bytes through to verification', async () => {
      const { handler, secretReads } = setup();

      const res = await handler(request('x'.repeat(1_000_000), {}));

      expect(res.statusCode).toBe(400);
      expect(secretReads).toEqual(['cached']);
    });
  });

  it('answers 405 to other methods, naming POST as allowed', async () => {
    const { handler, secretReads } = setup();

    const res = await handler(request(undefined, {}, { method: 'GET' }));

    expect(res.statusCode).toBe(405);
    expect(res.headers).toMatchObject({ allow: 'POST' });
    expect(secretReads).toEqual([]);
  });

  describe('400 for signatures', () => {
    it.each([
      ['a missing signature', (p: string) => [p, {}] as const, /missing Stripe-Signature/],
      [
        'a malformed signature',
        (p: string) => [p, { 'stripe-signature': 'v1=abc' }] as const,
        /malformed/,
      ],
      [
        'a forged signature',
        (p: string) => [p, signed(p, 'whsec_forger')] as const,
        /no signature matches/,
      ],
      ['a tampered body', (p: string) => [`${p} `, signed(p)] as const, /no signature matches/],
      [
        'a stale timestamp',
        (p: string) => [p, { 'stripe-signature': signatureHeader(p, SECRET, 1_000_000) }] as const,
        /outside the tolerance/,
      ],
    ])('answers 400 for %s and queues nothing', async (_name, make, reason) => {
      const { handler, queued } = setup();
      const [body, headers] = make(payloadOf('invoice.paid'));

      const res = await handler(request(body, headers));

      expect(res.statusCode).toBe(400);
      expect(bodyOf(res).error).toMatch(reason);
      expect(queued).toEqual([]);
    });

    it('never puts the secret or the body in the reason', async () => {
      const { handler } = setup();
      const payload = payloadOf('invoice.paid', { object: { description: 'MARKER_IN_BODY' } });

      const answers = await Promise.all([
        handler(request(payload, {})),
        handler(request(payload, signed(payload, 'whsec_forger'))),
        handler(request(`${payload}x`, signed(`${payload}x`))),
      ]);

      for (const res of answers) {
        expect(res.statusCode).toBe(400);
        expect(res.body).not.toContain(SECRET);
        expect(res.body).not.toContain('MARKER_IN_BODY');
      }
    });

    it('re-reads the secrets once when no signature matches the cached ones', async () => {
      const { handler, secretReads } = setup();
      const payload = payloadOf('invoice.paid');

      await handler(request(payload, signed(payload, 'whsec_forger')));

      expect(secretReads).toEqual(['cached', 'refresh']);
    });

    it('does not re-read the secrets for a malformed header or a stale timestamp', async () => {
      const { handler, secretReads } = setup();
      const payload = payloadOf('invoice.paid');

      await handler(request(payload, { 'stripe-signature': 'garbage' }));
      await handler(request(payload, { 'stripe-signature': signatureHeader(payload, SECRET, 1) }));

      expect(secretReads).toEqual(['cached', 'cached']);
    });

    it('accepts an event signed with a secret rotated in since the cache was filled', async () => {
      const rotated = 'whsec_rotated_in';
      let current: readonly string[] = [SECRET];
      const { handler, queued } = setup({
        secrets: async (options) => {
          if (options?.refresh) current = [SECRET, rotated];
          return current;
        },
      });
      const payload = payloadOf('invoice.paid', { id: 'evt_rotated' });

      const res = await handler(request(payload, signed(payload, rotated)));

      expect(res.statusCode).toBe(200);
      expect(queued.map((e) => e.id)).toEqual(['evt_rotated']);
    });
  });

  describe('400 for verified payloads that are not Stripe events', () => {
    it.each([
      ['not JSON', 'this is not json', /^payload is not valid JSON$/],
      [
        'not an event',
        JSON.stringify({ object: 'invoice', id: 'in_1' }),
        /"object" must be "event"/,
      ],
      [
        'an id without evt_',
        JSON.stringify({ ...buildEvent('invoice.paid'), id: 'x_1' }),
        /"id" must start with "evt_"/,
      ],
      [
        'a type that is not a string',
        JSON.stringify({ ...buildEvent('invoice.paid'), type: 7 }),
        /"type" must be a string/,
      ],
      [
        'a created that is not a number',
        JSON.stringify({ ...buildEvent('invoice.paid'), created: 'now' }),
        /"created" must be a number/,
      ],
      [
        'no data.object',
        JSON.stringify({ ...buildEvent('invoice.paid'), data: {} }),
        /"data.object" must be an object/,
      ],
    ])('answers 400 for a payload that is %s', async (_name, payload, reason) => {
      const { handler, queued } = setup();

      const res = await handler(request(payload, signed(payload)));

      expect(res.statusCode).toBe(400);
      expect(bodyOf(res).error).toMatch(reason);
      expect(queued).toEqual([]);
    });

    it('answers 400 for signed bytes that are not UTF-8', async () => {
      const { handler, queued } = setup();
      const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      // The stripe helper signs strings (as UTF-8), so these raw bytes are signed by hand.
      const t = Math.floor(Date.now() / 1000);
      const mac = createHmac('sha256', SECRET).update(`${t}.`).update(bytes).digest('hex');

      const res = await handler(
        request(bytes, { 'stripe-signature': `t=${t},v1=${mac}` }, { base64: true }),
      );

      expect(res.statusCode).toBe(400);
      expect(bodyOf(res).error).toMatch(/not valid JSON/);
      expect(queued).toEqual([]);
    });
  });

  describe('200 ignored, nothing queued', () => {
    it.each([
      ['an unhandled type', () => payloadOf('plan.created'), {}],
      [
        'a type disabled by configuration',
        () => payloadOf('invoice.paid'),
        { enabledTypes: new Set(['charge.failed']) },
      ],
      [
        'a live event when STRIPE_MODE is test',
        () => payloadOf('invoice.paid', { livemode: true }),
        { stripeMode: 'test' as const },
      ],
      [
        'a test event when STRIPE_MODE is live',
        () => payloadOf('invoice.paid', { livemode: false }),
        { stripeMode: 'live' as const },
      ],
      [
        'an event of a connected account',
        () => payloadOf('invoice.paid', { account: 'acct_123' }),
        {},
      ],
    ])('acknowledges and ignores %s', async (_name, make, deps) => {
      const { handler, queued } = setup(deps);
      const payload = make();

      const res = await handler(request(payload, signed(payload)));

      expect(res.statusCode).toBe(200);
      expect(bodyOf(res)).toEqual({ received: true, id: JSON.parse(payload).id, ignored: true });
      expect(queued).toEqual([]);
    });

    it('queues an event whose livemode matches STRIPE_MODE', async () => {
      const { handler, queued } = setup({ stripeMode: 'live' });
      const payload = payloadOf('invoice.paid', { livemode: true });

      await handler(request(payload, signed(payload)));

      expect(queued.map((e) => e.livemode)).toEqual([true]);
    });
  });

  it('answers 503 when the event cannot be queued, so Stripe retries', async () => {
    const { handler } = setup({
      queue: {
        send: async (e) => {
          throw new QueueUnavailableError(`could not queue ${e.id}: TimeoutError`);
        },
      },
    });
    const payload = payloadOf('invoice.paid', { id: 'evt_503' });

    const res = await handler(request(payload, signed(payload)));

    expect(res.statusCode).toBe(503);
    expect(bodyOf(res)).toEqual({ error: 'could not queue evt_503: TimeoutError' });
  });

  it('fails the invocation (a 500) when the secrets cannot be read', async () => {
    const { handler } = setup({
      secrets: async () => {
        throw new Error('AccessDeniedException');
      },
    });
    const payload = payloadOf('invoice.paid');

    await expect(handler(request(payload, signed(payload)))).rejects.toThrow(/AccessDenied/);
  });
});

describe('the verifier telemetry', () => {
  function recording() {
    const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
    const metrics: string[] = [];
    const published: string[][] = [];
    const at =
      (level: string) =>
      (message: string, fields: Record<string, unknown> = {}) =>
        void logs.push({ level, message, fields });
    const logger = {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
    } as unknown as Logger;
    let stored: string[] = [];
    const metricsPort = {
      addMetric: (name: string) => {
        metrics.push(name);
        stored.push(name);
      },
      publishStoredMetrics: () => {
        published.push(stored);
        stored = [];
      },
    } as unknown as Metrics;
    return { logs, metrics, published, logger, metricsPort };
  }

  it('logs the event id, type, outcome and latency of a queued event', async () => {
    const { logs, logger, metricsPort } = recording();
    const { handler } = setup({ logger, metrics: metricsPort });
    const payload = payloadOf('invoice.paid', { id: 'evt_logged' });

    await handler(request(payload, signed(payload)));

    expect(logs).toEqual([
      {
        level: 'debug',
        message: 'webhook',
        fields: expect.objectContaining({
          eventId: 'evt_logged',
          eventType: 'invoice.paid',
          outcome: 'queued',
          status: 200,
          latencyMs: expect.any(Number),
        }),
      },
    ]);
  });

  it('warns about a refused webhook, with its status', async () => {
    const { logs, logger, metricsPort } = recording();
    const { handler } = setup({ logger, metrics: metricsPort });
    const payload = payloadOf('invoice.paid');

    await handler(request(payload, signed(payload, 'whsec_forger')));

    expect(logs).toEqual([
      {
        level: 'warn',
        message: 'webhook',
        fields: expect.objectContaining({ outcome: 'signature_invalid', status: 400 }),
      },
    ]);
  });

  it('never logs the body or a secret', async () => {
    const { logs, logger, metricsPort } = recording();
    const { handler } = setup({ logger, metrics: metricsPort });
    const payload = payloadOf('invoice.paid', { object: { description: 'MARKER_IN_BODY' } });

    await handler(request(payload, signed(payload)));
    await handler(request(payload, signed(payload, 'whsec_forger')));
    await handler(request('not json MARKER_IN_BODY', signed('not json MARKER_IN_BODY')));

    const logged = JSON.stringify(logs);
    expect(logs).toHaveLength(3);
    expect(logged).not.toContain('MARKER_IN_BODY');
    expect(logged).not.toContain(SECRET);
  });

  it.each([
    ['a queued event', 'ok', []],
    ['an ignored event', 'ignored', []],
    ['a forged signature', 'forged', [METRICS.webhookRejected, METRICS.signatureFailure]],
    ['an unreachable queue', 'down', [METRICS.queueFailure]],
  ])('counts %s, writing a metric line only for a refusal', async (_name, kind, expected) => {
    const { metrics, published, logger, metricsPort } = recording();
    const { handler } = setup({
      logger,
      metrics: metricsPort,
      ...(kind === 'down'
        ? {
            queue: {
              send: async () => {
                throw new QueueUnavailableError('down');
              },
            },
          }
        : {}),
    });
    const payload = payloadOf(kind === 'ignored' ? 'plan.created' : 'invoice.paid');

    await handler(request(payload, signed(payload, kind === 'forged' ? 'whsec_x' : SECRET)));

    expect(metrics).toEqual(expected);
    expect(published).toEqual(expected.length > 0 ? [expected] : []);
  });
});

describe('the verifier Lambda entry', () => {
  const load = async (env: Record<string, string>) => {
    vi.resetModules();
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_REGION: 'us-east-1', ...env });
    try {
      return await import('../../lambdas/verifier/handler');
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  };
  const complete = {
    QUEUE_URL_PREFIX: 'https://sqs.us-east-1.amazonaws.com/000000000000/sbg-',
    STRIPE_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:w',
  };

  it('builds its handler from a complete environment', async () => {
    const entry = await load(complete);

    expect(typeof entry.handler).toBe('function');
  });

  it.each([
    [
      'QUEUE_URL_PREFIX',
      { STRIPE_WEBHOOK_SECRET_ARN: complete.STRIPE_WEBHOOK_SECRET_ARN },
      /QUEUE_URL_PREFIX is required/,
    ],
    [
      'STRIPE_WEBHOOK_SECRET_ARN',
      { QUEUE_URL_PREFIX: complete.QUEUE_URL_PREFIX },
      /STRIPE_WEBHOOK_SECRET_ARN is required/,
    ],
    [
      'ENABLED_EVENT_TYPES',
      { ...complete, ENABLED_EVENT_TYPES: 'invoice.paid,invoice.nope' },
      /ENABLED_EVENT_TYPES: unknown event type\(s\) invoice\.nope/,
    ],
    ['STRIPE_MODE', { ...complete, STRIPE_MODE: 'prod' }, /STRIPE_MODE must be "live" or "test"/],
    [
      'STRIPE_SIGNATURE_TOLERANCE_SECONDS',
      { ...complete, STRIPE_SIGNATURE_TOLERANCE_SECONDS: '5m' },
      /STRIPE_SIGNATURE_TOLERANCE_SECONDS must be a whole number/,
    ],
  ])('fails its cold start on a bad %s, naming it', async (_name, env, message) => {
    const loading = load(env);

    await expect(loading).rejects.toThrow(message);
  });
});
