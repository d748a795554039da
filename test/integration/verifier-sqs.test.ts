// The verifier against the SQS emulator: a verified event lands in its type's queue with
// its attributes and exact bytes; an unhandled type lands nowhere; no queue, no 200. And
// the Secrets Manager source re-reading a rotated secret (through a small fake port).
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AWS, freePort } from '../../bin/local/emulators';
import { queueUrlPrefixOf, type QueuePair } from '../../bin/local/provision';
import { buildEvent } from '../../bin/events/stripe-events';
import {
  readSecretString,
  webhookSecretsFromSecretsManager,
  type SecretsPort,
  type WebhookSecrets,
} from '../../lambdas/adapters/webhook-secrets';
import { freshQueues } from '../support/local-stack';
import { queueingVerifier, signedWebhook } from '../support/webhook-request';

const SECRET = 'whsec_integration';
const TYPES = ['invoice.paid', 'charge.failed'];

function verifier(
  sqs: SQSClient,
  urlPrefix: string,
  secrets: WebhookSecrets = async () => [SECRET],
) {
  return queueingVerifier(sqs, urlPrefix, { secrets });
}

const request = (payload: string, secret = SECRET, base64 = false) =>
  signedWebhook(payload, secret, { base64 });

async function visible(sqs: SQSClient, url: string): Promise<number> {
  const got = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(got.Attributes?.ApproximateNumberOfMessages) +
    Number(got.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

async function receiveOne(sqs: SQSClient, queue: QueuePair) {
  const got = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.queueUrl,
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: 1,
    }),
  );
  return got.Messages?.[0];
}

/** Fresh queues per test: a count of zero then means nothing was sent by that test. */
async function stack() {
  const { sqs, queues, prefix } = await freshQueues(TYPES);
  const byType = (type: string) => queues.find((q) => q.type === type)!;
  return { sqs, queues, byType, urlPrefix: queueUrlPrefixOf(queues[0]!, prefix) };
}

describe('the verifier with a real queue', () => {
  it('puts a verified event on its own type queue, with its attributes and exact bytes', async () => {
    const { sqs, byType, urlPrefix } = await stack();
    const payload = JSON.stringify(
      buildEvent('charge.failed', { id: 'evt_int_1', object: { description: 'Zoë — 東京' } }),
      null,
      2,
    );

    const res = await verifier(sqs, urlPrefix)(request(payload));

    expect(res.statusCode).toBe(200);
    const message = await receiveOne(sqs, byType('charge.failed'));
    expect(message?.Body).toBe(payload);
    expect(message?.MessageAttributes).toMatchObject({
      eventId: { DataType: 'String', StringValue: 'evt_int_1' },
      eventType: { DataType: 'String', StringValue: 'charge.failed' },
      livemode: { DataType: 'String', StringValue: 'false' },
    });
    expect(await visible(sqs, byType('invoice.paid').queueUrl)).toBe(0);
  });

  it('queues the decoded text of a base64 body', async () => {
    const { sqs, byType, urlPrefix } = await stack();
    const payload = JSON.stringify(buildEvent('invoice.paid', { id: 'evt_int_b64' }), null, 2);

    const res = await verifier(sqs, urlPrefix)(request(payload, SECRET, true));

    expect(res.statusCode).toBe(200);
    expect((await receiveOne(sqs, byType('invoice.paid')))?.Body).toBe(payload);
  });

  it('queues nothing for a type no processor handles', async () => {
    const { sqs, queues, urlPrefix } = await stack();

    const res = await verifier(sqs, urlPrefix)(request(JSON.stringify(buildEvent('plan.created'))));

    expect(JSON.parse(res.body!)).toMatchObject({ received: true, ignored: true });
    for (const q of queues) expect(await visible(sqs, q.queueUrl)).toBe(0);
  });

  it('answers 503, claiming nothing, when the queue cannot be reached', async () => {
    const closedPort = await freePort();
    const endpoint = `http://127.0.0.1:${closedPort}`;
    const unreachable = new SQSClient({ ...LOCAL_AWS, endpoint, maxAttempts: 1 });

    const res = await verifier(
      unreachable,
      `${endpoint}/000000000000/nowhere-`,
    )(request(JSON.stringify(buildEvent('invoice.paid', { id: 'evt_int_down' }))));

    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body!)).toEqual({
      error: expect.stringMatching(/could not queue evt_int_down/),
    });
  });
});

/** A Secrets Manager stand-in: only GetSecretValue, with a value the test can rotate. */
function fakeSecretsManager(initial: string) {
  const state = { value: initial, reads: 0, failNext: false };
  const port: SecretsPort = {
    send: async () => {
      state.reads++;
      if (state.failNext) {
        state.failNext = false;
        throw new Error('ThrottlingException');
      }
      return { SecretString: state.value };
    },
  };
  return { state, port };
}

describe('the webhook secret from Secrets Manager', () => {
  const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook';
  let clock = 0;
  const now = () => clock;

  beforeAll(() => {
    clock = 1_000_000;
  });

  it('accepts an event signed with a secret rotated in after the cold start, and queues it', async () => {
    const { sqs, byType, urlPrefix } = await stack();
    const sm = fakeSecretsManager('whsec_before_rotation');
    const secrets = webhookSecretsFromSecretsManager(sm.port, ARN, { now });
    const handler = verifier(sqs, urlPrefix, secrets);
    await handler(request(JSON.stringify(buildEvent('invoice.paid')), 'whsec_before_rotation'));
    clock += 60_000;
    sm.state.value = 'whsec_before_rotation,whsec_after_rotation';
    const payload = JSON.stringify(buildEvent('invoice.paid', { id: 'evt_rotated' }));

    const res = await handler(request(payload, 'whsec_after_rotation'));

    expect(res.statusCode).toBe(200);
    expect(sm.state.reads).toBe(2);
    const bodies = [
      await receiveOne(sqs, byType('invoice.paid')),
      await receiveOne(sqs, byType('invoice.paid')),
    ];
    expect(bodies.map((m) => m?.Body)).toContain(payload);
  });

  it('reads the secret once per cold start while signatures match', async () => {
    const sm = fakeSecretsManager(SECRET);
    const secrets = webhookSecretsFromSecretsManager(sm.port, `${ARN}-steady`, { now });

    await secrets();
    await secrets();
    await secrets();

    expect(sm.state.reads).toBe(1);
  });

  it('re-reads at most once per interval however many signatures fail', async () => {
    const sm = fakeSecretsManager(SECRET);
    const secrets = webhookSecretsFromSecretsManager(sm.port, `${ARN}-forged`, {
      now,
      minRefreshIntervalMs: 30_000,
    });
    await secrets();
    clock += 31_000;

    await secrets({ refresh: true });
    await secrets({ refresh: true });
    clock += 10_000;
    await secrets({ refresh: true });

    expect(sm.state.reads).toBe(2);
  });

  it('returns the same list while the secret is unchanged, so no second check runs', async () => {
    const sm = fakeSecretsManager(`${SECRET}\n`);
    const secrets = webhookSecretsFromSecretsManager(sm.port, `${ARN}-same`, { now });
    const first = await secrets();
    clock += 60_000;

    const again = await secrets({ refresh: true });

    expect(first).toEqual([SECRET]);
    expect(again).toBe(first);
  });

  it('retries a failed read on the next call instead of caching the failure', async () => {
    const sm = fakeSecretsManager('sk_unused');
    sm.state.failNext = true;

    await expect(readSecretString(sm.port, `${ARN}-flaky`)).rejects.toThrow(/Throttling/);
    const value = await readSecretString(sm.port, `${ARN}-flaky`);

    expect(value).toBe('sk_unused');
  });

  it('refuses a stored value that is not a signing secret, naming where it came from', async () => {
    const sm = fakeSecretsManager('sk_live_not_a_webhook_secret');
    const secrets = webhookSecretsFromSecretsManager(sm.port, `${ARN}-wrong`, { now });

    const failure = secrets();

    await expect(failure).rejects.toThrow(/STRIPE_WEBHOOK_SECRET_ARN.*not a Stripe signing secret/);
    await expect(failure).rejects.not.toThrow(/sk_live/);
  });
});
