// `npm run override -- <cus_...> --allow|--deny --reason "<text>" | --clear [--local]`: sets
// or clears an operator override through the status API's own handler (same validation,
// same store write), recording who did it.

import { userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { FactStore } from '../lambdas/adapters/fact-store';
import type { BillingStatus } from '../lambdas/core/facts';
import { makeStatusApiHandler } from '../lambdas/status-api/make-status-api';
import {
  customerIdArg,
  defineCommand,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  runIfEntryPoint,
  UsageError,
  type CommandDeps,
  type ParsedArgs,
} from './ops/command';
import { resolveTarget, TargetError, type Target, type TargetOptions } from './ops/target';
import { EXPIRY_WARNING_DAYS_ENV, readStatus, renderReport, warningDaysOf } from './status';

export interface OverrideDeps extends CommandDeps {
  connect?: (options: TargetOptions) => Promise<Target>;
  /** Who is acting; default the AWS caller identity, or local:<os user> for --local. */
  actor?: (target: Target) => Promise<string>;
}

type Change = { mode: 'allow' | 'deny'; reason: string } | null;

function changeOf(args: ParsedArgs): Change {
  const chosen = (['allow', 'deny', 'clear'] as const).filter((k) => args.flag(k));
  if (chosen.length !== 1) {
    throw new UsageError('give exactly one of --allow, --deny or --clear');
  }
  const reason = args.string('reason');
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

/**
 * Sets or clears the override through the status API's own handler (same validation, same
 * store write); answers as the API would.
 */
export async function changeThroughApi(
  target: Pick<Target, 'ddb' | 'tableName'>,
  request: { customerId: string; change: Change; actor: string },
  options: { now: () => Date; expiryWarningDays: number },
): Promise<{ statusCode: number; body: BillingStatus & { error?: string } }> {
  const handler = makeStatusApiHandler({
    store: new FactStore(target.ddb, target.tableName),
    expiryWarningDays: options.expiryWarningDays,
    clock: options.now,
    logger: new Logger({ serviceName: 'override', logLevel: 'SILENT' }),
    // The actor was established by the command, from the caller's own identity.
    trustActorHeader: true,
  });
  const response = await handler(
    overrideRequest(request.customerId, request.change, request.actor, options.now()),
  );
  return {
    statusCode: response.statusCode ?? 500,
    body: JSON.parse(response.body ?? '{}') as BillingStatus & { error?: string },
  };
}

export const command = defineCommand<OverrideDeps>({
  name: 'override',
  summary:
    'Sets or clears the operator override of one customer, without touching the table by ' +
    'hand, and prints the resulting billing status.',
  description: [
    "--allow makes canAllocate true while its blockers stay listed; --deny adds the blocker operator_deny (canAllocate false). The latest set or clear wins. Each one is kept in the customer's events (ovr_..., type override.allow, override.deny or override.cleared) with its reason and who did it: your AWS caller identity, or local:<user> with --local.",
  ],
  positionals: {
    customer: { value: 'cus_...', description: 'the Stripe customer id' },
  },
  options: {
    allow: { type: 'boolean', description: 'let the customer allocate whatever blocks it' },
    deny: { type: 'boolean', description: 'block the customer (blocker operator_deny)' },
    reason: {
      type: 'string',
      value: 'text',
      description: 'why, 1 to 500 characters; required with --allow and --deny',
    },
    clear: { type: 'boolean', description: 'remove the override; the events decide again' },
    json: { type: 'boolean', description: 'print the resulting status as JSON' },
  },
  usage: [
    ['customer', 'allow|deny', 'reason', '[json]'],
    ['customer', 'clear', '[json]'],
  ],
  environment: [EXPIRY_WARNING_DAYS_ENV],
  failure: 'the stack could not be read or written (a reason the API refuses exits 2)',
  examples: [
    {
      args: 'cus_123 --allow --reason "paid by wire, ticket 4411" --local',
      note: 'lift the blocks of cus_123',
    },
    { args: 'cus_123 --deny --reason "fraud review" --local', note: 'block cus_123' },
    { args: 'cus_123 --clear --local', note: 'back to what the events say' },
  ],
  async run({ args, target: targetOptions, io, deps }) {
    const customerId = customerIdArg(args.positional('customer'));
    const change = changeOf(args);
    const warningDays = warningDaysOf(io.env);

    const target = await (deps.connect ?? resolveTarget)(targetOptions);
    try {
      const actor = await (deps.actor ?? defaultActor)(target);
      io.err(
        `${change ? `setting override ${change.mode}` : 'clearing the override'} of ${customerId} ` +
          `on ${target.describe()} as ${actor}`,
      );
      const response = await changeThroughApi(
        target,
        { customerId, change, actor },
        { now: io.now, expiryWarningDays: warningDays },
      );
      const body = response.body;
      if (response.statusCode === 400) {
        io.err(`override: refused: ${body.error ?? 'bad request'}`);
        return EXIT_USAGE;
      }
      if (response.statusCode !== 200) {
        io.err(`override: the status API answered ${response.statusCode}: ${body.error ?? ''}`);
        return EXIT_FAILURE;
      }
      if (args.flag('json')) {
        io.out(JSON.stringify(body, null, 2));
        return EXIT_OK;
      }
      const report = await readStatus(target, customerId, {
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
  },
});

export const run = command.run;

runIfEntryPoint(import.meta.url, command);
