// `npm run override -- <cus_...> --allow|--deny --reason "<text>" | --clear [--local]`: sets
// or clears an operator override through the status API's own handler (same validation,
// same store write), recording who did it.

import { userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { FactStore } from '../lambdas/adapters/fact-store';
import { expiryWarningDays } from '../lambdas/config';
import { ConfigError } from '../lambdas/core/errors';
import type { BillingStatus } from '../lambdas/core/facts';
import { makeStatusApiHandler } from '../lambdas/status-api/make-status-api';
import {
  customerIdArg,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  parseCommand,
  processIo,
  runCommand,
  runIfEntryPoint,
  TARGET_HELP,
  UsageError,
  type CommandIo,
  type CommandSpec,
} from './ops/args';
import { resolveTarget, TargetError, type Target, type TargetOptions } from './ops/target';
import { customerReport, renderReport } from './status';

export const OVERRIDE: CommandSpec = {
  name: 'override',
  help: [
    'Usage: npm run override -- <cus_...> --allow|--deny --reason "<text>" [--local]',
    '       npm run override -- <cus_...> --clear [--local]',
    '',
    'Sets or clears the operator override of one customer (CONTRACT section 4): --allow makes',
    'canAllocate true with its blockers still listed, --deny adds the blocker operator_deny.',
    "The latest set or clear wins; each is listed in the customer's events with its reason",
    'and who did it (your AWS caller identity, or local:<user> with --local). Prints the',
    'resulting billing status.',
    '',
    '  --allow | --deny    the override to set',
    '  --reason <text>     why (1 to 500 characters); required with --allow and --deny',
    '  --clear             remove the override',
    '  --json              print the resulting status as JSON',
    '',
    'Exit codes: 0 done; 1 the stack could not be written; 2 bad arguments or a reason the',
    'status API refuses (nothing written).',
    '',
    TARGET_HELP,
  ].join('\n'),
  options: {
    allow: { type: 'boolean' },
    deny: { type: 'boolean' },
    clear: { type: 'boolean' },
    reason: { type: 'string' },
    json: { type: 'boolean' },
  },
  maxPositionals: 1,
};

export interface OverrideDeps {
  io?: Partial<CommandIo>;
  connect?: (options: TargetOptions) => Promise<Target>;
  /** Who is acting; default the AWS caller identity, or local:<os user> for --local. */
  actor?: (target: Target) => Promise<string>;
}

type Change = { mode: 'allow' | 'deny'; reason: string } | null;

function changeOf(values: Record<string, string | boolean | undefined>): Change {
  const chosen = (['allow', 'deny', 'clear'] as const).filter((k) => values[k] === true);
  if (chosen.length !== 1) {
    throw new UsageError('give exactly one of --allow, --deny or --clear');
  }
  const reason = values.reason;
  if (chosen[0] === 'clear') {
    if (reason !== undefined)
      throw new UsageError('--clear takes no --reason (a clear records none)');
    return null;
  }
  if (typeof reason !== 'string') {
    throw new UsageError(`--${chosen[0]} needs --reason "<why>" (1 to 500 characters)`);
  }
  return { mode: chosen[0]!, reason };
}

/** The operator's identity as recorded with the override. */
export async function defaultActor(target: Target): Promise<string> {
  if (target.kind === 'local') return `local:${userInfo().username}`;
  const sts = new STSClient({ region: target.region });
  try {
    const who = await sts.send(new GetCallerIdentityCommand({}));
    if (!who.Arn) throw new Error('no ARN in the answer');
    return who.Arn;
  } catch (err) {
    throw new TargetError(`could not read your AWS caller identity: ${(err as Error).message}`);
  } finally {
    sts.destroy();
  }
}

/** The HTTP API (payload 2.0) request API Gateway would hand the status API, IAM-signed. */
export function overrideRequest(
  customerId: string,
  change: Change,
  actor: string,
  now: Date,
): APIGatewayProxyEventV2 {
  const method = change ? 'PUT' : 'DELETE';
  const rawPath = `/customers/${encodeURIComponent(customerId)}/override`;
  const request = {
    version: '2.0',
    routeKey: `${method} /customers/{customerId}/override`,
    rawPath,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'user-agent': 'npm run override' },
    requestContext: {
      accountId: 'operator',
      apiId: 'operator-cli',
      domainName: 'operator-cli',
      domainPrefix: 'operator-cli',
      http: {
        method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'npm run override',
      },
      requestId: randomUUID(),
      routeKey: `${method} /customers/{customerId}/override`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
      authorizer: { iam: { userArn: actor } },
    },
    isBase64Encoded: false,
    ...(change ? { body: JSON.stringify(change) } : {}),
  };
  return request as APIGatewayProxyEventV2;
}

export async function runOverride(
  argv: readonly string[],
  deps: OverrideDeps = {},
): Promise<number> {
  const io = { ...processIo(), ...deps.io };
  return runCommand(OVERRIDE, io, async () => {
    const { values, positionals, target: targetOptions } = parseCommand(argv, OVERRIDE);
    const customerId = customerIdArg(positionals[0]);
    const change = changeOf(values);
    let warningDays: number;
    try {
      warningDays = expiryWarningDays(io.env);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }

    const target = await (deps.connect ?? resolveTarget)(targetOptions);
    try {
      const actor = await (deps.actor ?? defaultActor)(target);
      const store = new FactStore(target.ddb, target.tableName);
      const handler = makeStatusApiHandler({
        store,
        expiryWarningDays: warningDays,
        clock: io.now,
        logger: new Logger({ serviceName: 'override', logLevel: 'SILENT' }),
        // The actor was established above, from the caller's own identity.
        trustActorHeader: true,
      });
      io.err(
        `${change ? `setting override ${change.mode}` : 'clearing the override'} of ${customerId} ` +
          `on ${target.describe()} as ${actor}`,
      );
      const response = await handler(overrideRequest(customerId, change, actor, io.now()));
      const body = JSON.parse(response.body ?? '{}') as BillingStatus & { error?: string };
      if (response.statusCode === 400) {
        io.err(`override: refused: ${body.error ?? 'bad request'}`);
        return EXIT_USAGE;
      }
      if (response.statusCode !== 200) {
        io.err(`override: the status API answered ${response.statusCode}: ${body.error ?? ''}`);
        return EXIT_FAILURE;
      }
      if (values.json === true) {
        io.out(JSON.stringify(body, null, 2));
        return EXIT_OK;
      }
      const report = await customerReport(store, customerId, {
        now: io.now(),
        expiryWarningDays: warningDays,
        limit: 5,
      });
      io.out(change ? `override set: ${change.mode}` : 'override cleared');
      io.out('');
      // The status is the handler's answer; the report adds the latest events to it.
      renderReport({
        status: body,
        events: report?.events ?? [],
        totalEvents: report?.totalEvents ?? 0,
      }).forEach((l) => io.out(l));
      return EXIT_OK;
    } finally {
      target.close();
    }
  });
}

runIfEntryPoint(import.meta.url, runOverride);
