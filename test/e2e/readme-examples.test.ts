// The examples a newcomer copies run as written: every `npm run ... --local` line of
// README.md's bash code blocks, then every `--local` example of the commands' --help, in
// order, against one `npm start` stack (Stripe-facing ones against a local fake of the
// Stripe API); the README's scripted dunning run also gives the answers its comments promise.
// How examples are found, and the rules they follow, are in ./examples.ts.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../../bin/ops/command';
import type { BillingStatus } from '../../lambdas/core/facts';
import { OPERATOR_COMMANDS } from '../../bin/ops/commands';
import { startFakeStripeApi, type FakeStripeApi } from '../support/fake-stripe-api';
import { eventually } from '../support/local-stack';
import { extractLocalExamples, stripComment, type Example } from './examples';
import { ROOT, startLocalStack, type LocalStack } from './npm-start';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('finding the examples of a Markdown document', () => {
  const doc = [
    'Run `npm run status -- cus_1 --local` inline: not an example.',
    '',
    '```bash',
    '# a comment line',
    'npm run trigger -- invoice.payment_failed --customer cus_123 --local   # sends one',
    '$ npm run status -- cus_123 \\',
    '    --json --local',
    'npm start                                  # not an operator command',
    'STRIPE_API_KEY=sk_test_xyz npm run backfill -- --dry-run --local',
    'npm run override -- cus_123 --deny --reason "ticket #4411" --local',
    '```',
    '',
    '```',
    'npm run redrive -- --all --local',
    '```',
    '',
    '~~~sh',
    'npm run status -- <cus_...> --local',
    'npm run status -- cus_123              # no --local: the deployed stack, not run',
    '~~~',
  ].join('\n');

  it('takes the --local npm run lines of bash blocks, joined and without comments', () => {
    const { examples } = extractLocalExamples(doc);

    expect(examples).toEqual([
      { line: 5, command: 'npm run trigger -- invoice.payment_failed --customer cus_123 --local' },
      { line: 6, command: 'npm run status -- cus_123 --json --local' },
      { line: 9, command: 'npm run backfill -- --dry-run --local' },
      { line: 10, command: 'npm run override -- cus_123 --deny --reason "ticket #4411" --local' },
    ]);
  });

  it('reports --local lines it cannot run instead of skipping them', () => {
    const { problems } = extractLocalExamples(doc);

    expect(problems).toEqual([
      'line 14: a --local example in a "plain" block: use a bash block',
      'line 18: "npm run status -- <cus_...> --local" has a placeholder: write a literal value',
    ]);
  });

  it('keeps a # inside quotes and drops one that starts a comment', () => {
    expect(stripComment(`echo "a # b" 'c # d' e#f # g`)).toBe(`echo "a # b" 'c # d' e#f`);
  });
});

describe('the runnable examples', { timeout: 300_000 }, () => {
  let stack: LocalStack;
  let stripe: FakeStripeApi;

  beforeAll(async () => {
    stripe = await startFakeStripeApi();
    stack = await startLocalStack({ stateDirPrefix: 'sbg-examples-', readyTimeoutMs: 150_000 });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await stripe?.close();
  });

  /** Runs one example through the shell, as a reader pasting it would. */
  function runExample(command: string) {
    return new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('sh', ['-c', command], {
        cwd: ROOT,
        env: stack.commandEnv({ STRIPE_API_KEY: stripe.apiKey, STRIPE_API_BASE: stripe.url }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('close', (code) => resolve({ code, output }));
    });
  }

  /**
   * Runs the examples in order, each until it succeeds: processing is asynchronous, so a
   * status read right after a trigger may find the customer a moment later (exit 1).
   */
  async function runAll(examples: readonly Example[], where: string) {
    for (const example of examples) {
      let last = { code: null as number | null, output: '' };
      const settled = await eventually(
        async () => {
          last = await runExample(example.command);
          // Exit 2 (bad arguments) is never fixed by waiting.
          return last.code === 0 || last.code === 2 ? last : null;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `${where} line ${example.line}` },
      ).catch(() => last);
      expect(
        settled.code,
        `${where} line ${example.line}: ${example.command}\n${settled.output}`,
      ).toBe(0);
    }
  }

  it('README.md shows its --local examples in runnable form', () => {
    expect(extractLocalExamples(README).problems).toEqual([]);
    // The quick start, operations and overrides examples at least.
    expect(extractLocalExamples(README).examples.length).toBeGreaterThanOrEqual(8);
  });

  it("every --local example of README.md's code blocks succeeds, in order", async () => {
    await runAll(extractLocalExamples(README).examples, 'README.md');
  });

  it("README.md's scripted dunning run blocks after the last failed retry and allows once the invoice is paid", async () => {
    // Prepare: the README's dunning lines, for a customer of this test's own (the test above
    // runs them as written, after which the invoice is paid for good)
    const customer = `cus_dunning${Date.now()}`;
    const lines = extractLocalExamples(README)
      .examples.filter((e) => e.command.includes('cus_dunning'))
      .map((e) => ({ ...e, command: e.command.replaceAll('cus_dunning', customer) }));
    const triggers = lines.filter((e) => e.command.startsWith('npm run trigger'));
    expect(triggers.map((e) => /--next-attempt (\S+)/.exec(e.command)?.[1] ?? null)).toEqual([
      '2026-11-04T09:00:00Z',
      '2026-11-08T09:00:00Z',
      'none',
      null,
    ]);
    expect(triggers.map((e) => e.command.split(' ')[4])).toEqual([
      'invoice.payment_failed',
      'invoice.payment_failed',
      'invoice.payment_failed',
      'invoice.paid',
    ]);

    // Act: each line in order; at each status line, the status once every event sent is applied
    const sent: string[] = [];
    const seen: BillingStatus[] = [];
    for (const example of lines) {
      if (example.command.startsWith('npm run trigger')) {
        const result = await runExample(example.command);
        expect(result.code, `README.md line ${example.line}\n${result.output}`).toBe(0);
        sent.push(/"id":"(evt_[A-Za-z0-9]+)"/.exec(result.output)![1]!);
        continue;
      }
      await eventually(
        async () => {
          const res = await fetch(`${stack.base}/customers/${customer}/events?limit=100`);
          const listed = res.ok ? ((await res.json()) as { id: string }[]).map((e) => e.id) : [];
          return sent.every((id) => listed.includes(id));
        },
        { timeoutMs: 30_000, intervalMs: 250, what: `the events before line ${example.line}` },
      );
      const result = await runExample(example.command);
      expect(result.code, `README.md line ${example.line}\n${result.output}`).toBe(0);
      const res = await fetch(`${stack.base}/customers/${customer}/billing-status`);
      seen.push((await res.json()) as BillingStatus);
    }

    // Assess: blocked since the first failure (Stripe's retries never move it), then allowed
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({
      canAllocate: false,
      blockers: [
        {
          reason: 'payment_failed',
          objectId: 'in_dunning1',
          since: Date.parse('2026-11-01T09:00:00Z') / 1000,
          eventId: sent[0],
        },
      ],
    });
    expect(seen[1]).toMatchObject({ canAllocate: true, blockers: [] });
  });

  it("every --local example of the commands' --help succeeds, in order", async () => {
    const examples: Example[] = [];
    for (const name of OPERATOR_COMMANDS) {
      const { command } = (await import(`../../bin/${name}.ts`)) as { command: Command<object> };
      for (const e of command.def.examples) {
        if (/(^|\s)--local(\s|$)/.test(e.args)) {
          examples.push({ line: examples.length + 1, command: `npm run ${name} -- ${e.args}` });
        }
      }
    }
    expect(examples.map((e) => e.command.split(' ')[2])).toEqual(
      expect.arrayContaining([...OPERATOR_COMMANDS]),
    );

    await runAll(examples, '--help example');
  });
});
