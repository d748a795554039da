// `npm run register-endpoint` against the fake Stripe API: creates, then updates, the
// endpoint with exactly the enabled registry types and the pinned API version, stores the
// signing secret through the injected sink, and never prints it.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fileSink,
  run,
  secretsManagerSink,
  type RegisterPorts,
  type SecretSink,
} from '../../bin/register-endpoint';
import { PINNED_API_VERSION } from '../../bin/events/stripe-events';
import { HANDLED_TYPES } from '../../lambdas/core/registry';
import { capture, stripeHarness, type StripeHarness } from '../support/stripe-commands';

const URL_ = 'https://billing.example.com/webhook';

let h: StripeHarness;

beforeEach(async () => {
  h = await stripeHarness();
});

afterEach(async () => {
  await h.fake.close();
});

/** A sink keeping what it was given, as the tests' view of "stored". */
function memorySink(fail = false): SecretSink & { stored: string[] } {
  const stored: string[] = [];
  return {
    stored,
    location: 'the test sink',
    async add(secret) {
      if (fail) throw new Error('access denied');
      stored.push(secret);
      return { kept: stored.length - 1 };
    },
    nextSteps: () => ['restart nothing'],
  };
}

const register = (
  argv: string[],
  options: { sink?: SecretSink; types?: readonly string[]; out?: ReturnType<typeof capture> } = {},
) => {
  const out = options.out ?? capture();
  const ports: RegisterPorts = {
    enabledTypes: options.types ?? HANDLED_TYPES,
    secrets: options.sink ?? memorySink(),
    close: () => undefined,
  };
  return run(argv, { ...out.io, env: h.env, stripe: h.stripe, connect: async () => ports });
};

describe('register-endpoint', () => {
  it('creates an endpoint with every enabled type and the pinned API version', async () => {
    const code = await register(['--url', URL_]);

    expect(code).toBe(0);
    expect(h.fake.webhookEndpoints).toHaveLength(1);
    expect(h.fake.webhookEndpoints[0]).toMatchObject({
      url: URL_,
      enabled_events: [...HANDLED_TYPES],
      api_version: PINNED_API_VERSION,
    });
  });

  it('stores the signing secret Stripe returns on creation', async () => {
    const sink = memorySink();

    await register(['--url', URL_], { sink });

    expect(sink.stored).toEqual([(h.fake.webhookEndpoints[0] as { secret?: string }).secret]);
    expect(sink.stored[0]).toMatch(/^whsec_/);
  });

  it('never prints the signing secret', async () => {
    const out = capture();

    await register(['--url', URL_], { out });

    const secret = (h.fake.webhookEndpoints[0] as { secret?: string }).secret!;
    expect(out.text()).toMatch(/created webhook endpoint we_/);
    expect(out.text()).not.toContain(secret);
    expect(out.text()).not.toContain(secret.slice('whsec_'.length, 'whsec_'.length + 12));
  });

  it('updates the existing endpoint of that URL to exactly the enabled types, without a new secret', async () => {
    await register(['--url', URL_]);
    const sink = memorySink();
    const enabled = HANDLED_TYPES.filter((t) => !t.startsWith('customer.source.'));

    const code = await register(['--url', URL_], { sink, types: enabled });

    expect(code).toBe(0);
    expect(h.fake.webhookEndpoints).toHaveLength(1);
    expect(h.fake.webhookEndpoints[0]!.enabled_events).toEqual(enabled);
    expect(sink.stored).toEqual([]);
    expect(
      h.fake.requestsTo(`/v1/webhook_endpoints/${h.fake.webhookEndpoints[0]!.id}`, 'POST'),
    ).toHaveLength(1);
  });

  it('re-enables an existing endpoint Stripe disabled', async () => {
    await register(['--url', URL_]);
    h.fake.webhookEndpoints[0]!.status = 'disabled';

    await register(['--url', URL_]);

    expect(h.fake.webhookEndpoints[0]!.status).toBe('enabled');
  });

  it('refuses a --mode that does not match the key, before calling Stripe', async () => {
    const out = capture();

    const code = await register(['--url', URL_, '--mode', 'live'], { out });

    expect(code).toBe(1);
    expect(out.err.join('\n')).toMatch(/test-mode key but --mode live/);
    expect(h.fake.requests).toEqual([]);
  });

  it('accepts a --mode that matches the key', async () => {
    expect(await register(['--url', URL_, '--mode', 'test'])).toBe(0);
  });

  it('refuses a plain http URL', async () => {
    const out = capture();

    const code = await register(['--url', 'http://billing.example.com/webhook'], { out });

    expect(code).toBe(2);
    expect(out.err.join('\n')).toMatch(/must be an https URL/);
  });

  it('refuses http on the loopback without --local', async () => {
    expect(await register(['--url', 'http://127.0.0.1:3000/webhook'])).toBe(2);
  });

  it('accepts http on the loopback with --local', async () => {
    expect(await register(['--url', 'http://127.0.0.1:3000/webhook', '--local'])).toBe(0);
    expect(h.fake.webhookEndpoints[0]!.url).toBe('http://127.0.0.1:3000/webhook');
  });

  it('deletes the new endpoint again when its secret cannot be stored', async () => {
    const out = capture();

    const code = await register(['--url', URL_], { sink: memorySink(true), out });

    expect(code).toBe(1);
    expect(h.fake.webhookEndpoints).toEqual([]);
    expect(out.err.at(-1)).toMatch(/deleted again because its signing secret could not be stored/);
  });
});

describe('register-endpoint on an endpoint that does not send the pinned API version', () => {
  /** An endpoint created earlier, outside this command (e.g. in the Dashboard). */
  function existingEndpoint(apiVersion: string | null) {
    h.fake.webhookEndpoints.push({
      id: 'we_existing1',
      object: 'webhook_endpoint',
      url: URL_,
      enabled_events: ['invoice.paid'],
      api_version: apiVersion,
      status: 'enabled',
    });
  }

  it("warns that an endpoint following the account's default version is not pinned", async () => {
    existingEndpoint(null);
    const out = capture();

    const code = await register(['--url', URL_], { out });

    expect(code).toBe(0);
    const warning = out.err.join('\n');
    expect(warning).toContain(
      'register-endpoint: warning: endpoint we_existing1 has no API version of its own: it follows',
    );
    expect(warning).toContain(`the account's default API version, not ${PINNED_API_VERSION}`);
    expect(warning).toMatch(/register a new endpoint\s+at another URL/);
    expect(h.fake.webhookEndpoints[0]!.enabled_events).toEqual([...HANDLED_TYPES]);
  });

  it('warns about an endpoint pinned to another version', async () => {
    existingEndpoint('2020-08-27');
    const out = capture();

    await register(['--url', URL_], { out });

    expect(out.err.join('\n')).toContain(
      'warning: endpoint we_existing1 sends API version 2020-08-27,',
    );
  });

  it('says nothing of versions for an endpoint on the pinned version', async () => {
    existingEndpoint(PINNED_API_VERSION);
    const out = capture();

    await register(['--url', URL_], { out });

    expect(out.text()).toMatch(/updated webhook endpoint we_existing1/);
    expect(out.text()).not.toContain('warning');
  });
});

describe('where the signing secret goes', () => {
  it('a Secrets Manager secret gets the new secret appended to the ones it holds', async () => {
    let value = 'whsec_old1,whsec_old2';
    const puts: string[] = [];
    // Only the two calls the sink makes; Secrets Manager's own semantics are not under test.
    const client = {
      send: async (command: unknown) => {
        if (command instanceof GetSecretValueCommand) return { SecretString: value };
        if (command instanceof PutSecretValueCommand) {
          value = command.input.SecretString!;
          puts.push(value);
          return {};
        }
        throw new Error('unexpected call');
      },
    } as unknown as SecretsManagerClient;

    const { kept } = await secretsManagerSink(client, 'arn:secret').add('whsec_new');

    expect(kept).toBe(2);
    expect(puts).toEqual(['whsec_old1,whsec_old2,whsec_new']);
  });

  it('a placeholder in the Secrets Manager secret is replaced, not kept', async () => {
    const puts: string[] = [];
    const client = {
      send: async (command: unknown) => {
        if (command instanceof GetSecretValueCommand) return { SecretString: 'placeholder' };
        puts.push((command as PutSecretValueCommand).input.SecretString!);
        return {};
      },
    } as unknown as SecretsManagerClient;

    await secretsManagerSink(client, 'arn:secret').add('whsec_new');

    expect(puts).toEqual(['whsec_new']);
  });

  it('a local secrets file keeps the earlier secret and is readable by its owner only', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sbg-secret-')), 'webhook-secret');
    const sink = fileSink(file, false);

    await sink.add('whsec_first');
    const { kept } = await sink.add('whsec_second');

    expect(kept).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('whsec_first,whsec_second\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
