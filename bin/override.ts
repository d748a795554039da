// `npm run override -- <cus_...|acct_...> --allow|--deny --reason "<text>" [--for <duration>
// | --until <time>] | --clear [--local]`: sets (until a time, if asked) or clears an operator
// override through the status API's own handler (same validation, same store write, same
// resolution of an Accounts v2 id), recording who did it.

import { userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { BillingStatus, OverrideMode } from '../lambdas/core/facts';
import { parseDuration } from '../lambdas/core/policy';
import { makeStatusApiHandler, MAX_OVERRIDE_SECONDS } from '../lambdas/status-api/make-status-api';
import {
  defineCommand,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  runIfEntryPoint,
  UsageError,
  type CommandDeps,
  type ParsedArgs,
} from './ops/command';
import { resolveTarget, storeOf, TargetError, type Target, type TargetOptions } from './ops/target';
import {
  customerOrAccountArg,
  formatOverride,
  readStatus,
  renderReport,
  unknownCustomerMessage,
} from './status';

export interface OverrideDeps extends CommandDeps {
  connect?: (options: TargetOptions) => Promise<Target>;
  /** Who is acting; default the AWS caller identity, or local:<os user> for --local. */
  actor?: (target: Target) => Promise<string>;
}

/**
 * The body of `PUT .../override` (`expiresIn`: a duration, `expiresAt`: unix seconds), or
 * null for a clear.
 */
export type Change = {
  mode: OverrideMode;
  reason: string;
  expiresIn?: string;
  expiresAt?: number;
} | null;

const MAX_DAYS = MAX_OVERRIDE_SECONDS / 86_400;

/** --for: digits followed by s, m, h or d, more than 0 and at most the API's maximum. */
export function durationArg(value: string): string {
  const seconds = parseDuration(value, Number.MAX_SAFE_INTEGER);
  if (seconds === null) {
    throw new UsageError(
      `--for must be digits followed by s, m, h or d (e.g. 90m, 12h, 7d), got "${value}"`,
    );
  }
  if (seconds === 0) throw new UsageError(`--for must be more than 0, got "${value}"`);
  if (seconds > MAX_OVERRIDE_SECONDS) {
    throw new UsageError(
      `--for must be at most ${MAX_DAYS} days (the longest an override may last), got "${value}"`,
    );
  }
  return value;
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,3})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?$/;

/** --until: an ISO 8601 date (UTC midnight) or time with its offset, as unix seconds. */
export function untilArg(value: string, now: Date): number {
  const m = ISO_TIME.exec(value);
  const [year, month, day] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (
    !m ||
    calendar.getUTCFullYear() !== year ||
    calendar.getUTCMonth() !== month - 1 ||
    calendar.getUTCDate() !== day
  ) {
    throw new UsageError(
      `--until must be an ISO 8601 time with its offset, such as 2027-06-01T09:00:00Z, or a date (midnight UTC), got "${value}"`,
    );
  }
  const at = Math.ceil(Date.parse(value) / 1000);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (at <= nowSeconds) {
    throw new UsageError(`--until ${value} is not in the future (now is ${now.toISOString()})`);
  }
  if (at > nowSeconds + MAX_OVERRIDE_SECONDS) {
    throw new UsageError(
      `--until ${value} is more than ${MAX_DAYS} days ahead (the longest an override may last)`,
    );
  }
  return at;
}

/** The change a command line asks for, checked at `now`; a usage error changes nothing. */
export function changeOf(args: ParsedArgs, now: Date): Change {
  const chosen = (['allow', 'deny', 'clear'] as const).filter((k) => args.flag(k));
  if (chosen.length !== 1) {
    throw new UsageError('give exactly one of --allow, --deny or --clear');
  }
  const reason = args.string('reason');
  const forValue = args.string('for');
  const untilValue = args.string('until');
  if (chosen[0] === 'clear') {
    if (reason !== undefined)
      throw new UsageError('--clear takes no --reason (a clear records none)');
    if (forValue !== undefined || untilValue !== undefined) {
      throw new UsageError('--clear takes no --for or --until (a clear ends the override now)');
    }
    return null;
  }
  if (typeof reason !== 'string') {
    throw new UsageError(`--${chosen[0]} needs --reason "<why>" (1 to 500 characters)`);
  }
  if (forValue !== undefined && untilValue !== undefined) {
    throw new UsageError('give --for or --until, not both');
  }
  return {
    mode: chosen[0]!,
    reason,
    ...(forValue !== undefined ? { expiresIn: durationArg(forValue) } : {}),
    ...(untilValue !== undefined ? { expiresAt: untilArg(untilValue, now) } : {}),
  };
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
  options: { now: () => Date },
): Promise<{ statusCode: number; body: BillingStatus & { error?: string } }> {
  const { store, settings } = await storeOf(target, () => options.now().getTime());
  const handler = makeStatusApiHandler({
    store,
    settings,
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
    `With --for or --until the override ends by itself at that moment, as if cleared (the status shows it as expires, and as its next change); at most ${MAX_DAYS} days ahead. An Accounts v2 id (acct_...) acts on the customer it names, once an event has named both ids.`,
  ],
  positionals: {
    customer: {
      value: 'cus_...|acct_...',
      description: 'the Stripe customer id, or its Accounts v2 id',
    },
  },
  options: {
    allow: { type: 'boolean', description: 'let the customer allocate whatever blocks it' },
    deny: { type: 'boolean', description: 'block the customer (blocker operator_deny)' },
    reason: {
      type: 'string',
      value: 'text',
      description: 'why, 1 to 500 characters; required with --allow and --deny',
    },
    for: {
      type: 'string',
      value: 'duration',
      description: `end the override after this long: digits followed by s, m, h or d (90m, 12h, 7d), at most ${MAX_DAYS} days`,
    },
    until: {
      type: 'string',
      value: 'time',
      description: `end the override at this ISO 8601 time (YYYY-MM-DDThh:mm:ssZ, or with an offset) or date (midnight UTC), at most ${MAX_DAYS} days ahead`,
    },
    clear: { type: 'boolean', description: 'remove the override; the events decide again' },
    json: { type: 'boolean', description: 'print the resulting status as JSON' },
  },
  usage: [
    ['customer', 'allow|deny', 'reason', '[for|until]', '[json]'],
    ['customer', 'clear', '[json]'],
  ],
  failure:
    'a clear for a customer no applied event has mentioned, an acct_ id whose customer no ' +
    'event has named, or the stack could not be read or written (a reason or expiry the API ' +
    'refuses exits 2)',
  examples: [
    {
      args: 'cus_123 --allow --reason "paid by wire, ticket 4411" --local',
      note: 'lift the blocks of cus_123',
    },
    { args: 'cus_123 --deny --reason "fraud review" --local', note: 'block cus_123' },
    {
      args: 'cus_123 --allow --reason "promised to pay, ticket 4412" --for 7d --local',
      note: 'lift the blocks for seven days',
    },
    { args: 'cus_123 --clear --local', note: 'back to what the events say' },
    {
      args: 'acct_123 --deny --reason "fraud review" --for 30d --stack StripeBillingGate-prod',
      note: 'block the customer of an Accounts v2 id for 30 days, on a deployed stack',
    },
  ],
  async run({ args, target: targetOptions, io, deps }) {
    const customerId = customerOrAccountArg(args.positional('customer'));
    const change = changeOf(args, io.now());

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
        { now: io.now },
      );
      const body = response.body;
      if (response.statusCode === 400) {
        io.err(`override: refused: ${body.error ?? 'bad request'}`);
        return EXIT_USAGE;
      }
      if (response.statusCode === 404) {
        io.err(`override: ${unknownCustomerMessage(customerId)}`);
        return EXIT_FAILURE;
      }
      if (response.statusCode !== 200) {
        io.err(`override: the status API answered ${response.statusCode}: ${body.error ?? ''}`);
        return EXIT_FAILURE;
      }
      if (args.flag('json')) {
        io.out(JSON.stringify(body, null, 2));
        return EXIT_OK;
      }
      // The handler answers for the customer an acct_ id names.
      const report = await readStatus(target, body.customerId, {
        now: io.now(),
        limit: 5,
      });
      io.out(change ? `override set: ${formatOverride(body.override)}` : 'override cleared');
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
