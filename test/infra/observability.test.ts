// The logging helpers every handler shares: the logger follows Lambda's application log
// level when Lambda sets one, and withLambdaContext puts the request id and cold start on
// every line of an invocation, then forgets the invocation's own keys.

import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeLogger, withLambdaContext } from '../../lambdas/observability';

const context = (requestId: string): Context => ({
  awsRequestId: requestId,
  functionName: 'fn',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
  memoryLimitInMB: '256',
  logGroupName: '/aws/lambda/fn',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 1000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/** The JSON lines a logger made during `run`, from both streams. */
async function linesOf(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await run();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return written
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('makeLogger', () => {
  it("follows Lambda's application log level over LOG_LEVEL, without a mismatch warning", async () => {
    // Prepare
    vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', 'WARN');
    vi.stubEnv('LOG_LEVEL', 'DEBUG');
    vi.stubEnv('POWERTOOLS_DEV', '');

    // Act
    const lines = await linesOf(async () => {
      const logger = makeLogger('svc');
      logger.info('handled');
      logger.warn('degraded');
    });

    // Assess
    expect(lines.map((l) => [l.level, l.message])).toEqual([['WARN', 'degraded']]);
  });

  it('uses LOG_LEVEL outside Lambda', async () => {
    // Prepare
    vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', '');
    vi.stubEnv('LOG_LEVEL', 'ERROR');

    // Act
    const lines = await linesOf(async () => {
      const logger = makeLogger('svc');
      logger.warn('not shown');
      logger.error('shown');
    });

    // Assess
    expect(lines.map((l) => l.message)).toEqual(['shown']);
  });
});

describe('withLambdaContext', () => {
  it("puts the invocation's request id and cold start on its lines and drops its appended keys", async () => {
    // Prepare
    vi.stubEnv('AWS_LAMBDA_LOG_LEVEL', '');
    vi.stubEnv('LOG_LEVEL', 'INFO');
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const logger = makeLogger('svc');
    const handler = withLambdaContext(logger, async (event: { n: number }) => {
      if (event.n === 1) logger.appendKeys({ first: true });
      logger.info('handling');
      return event.n * 2;
    });

    // Act
    let results: number[] = [];
    const lines = await linesOf(async () => {
      results = [
        await handler({ n: 1 }, context('req-1')),
        await handler({ n: 2 }, context('req-2')),
      ];
    });

    // Assess
    expect(results).toEqual([2, 4]);
    expect(lines.map((l) => [l.function_request_id, l.cold_start, l.first])).toEqual([
      ['req-1', true, true],
      ['req-2', false, undefined],
    ]);
  });

  it('runs the handler unchanged when called without a context (tests, the local twin)', async () => {
    // Prepare
    const handler = withLambdaContext(makeLogger('svc'), async (event: string) => event.length);

    // Act
    const result = await handler('four');

    // Assess
    expect(result).toBe(4);
  });
});
