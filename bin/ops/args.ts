// What the stack-facing operator commands (trigger, status, redrive, override) share:
// strict argument parsing with the common target flags and `--help`, exit codes, one way
// of printing failures, and plain-text tables for their summaries.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BillingGateError } from '../../lambdas/core/errors';
import { TargetError, type TargetOptions } from './target';

export const EXIT_OK = 0;
/** The command ran and failed (or found nothing, where documented). */
export const EXIT_FAILURE = 1;
/** Bad arguments or input refused by validation: nothing was done. */
export const EXIT_USAGE = 2;

/** Bad arguments or refused input: exit code 2 with the message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--help` was asked for: print the usage, exit 0. */
class HelpRequested extends Error {}

/** Where a command writes: `out` for results (stdout), `err` for progress and errors (stderr). */
export interface CommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  now: () => Date;
}

export function processIo(): CommandIo {
  return {
    out: (line) => void process.stdout.write(line + '\n'),
    err: (line) => void process.stderr.write(line + '\n'),
    env: process.env,
    now: () => new Date(),
  };
}

type OptionSpec =
  { type: 'boolean'; short?: string } | { type: 'string'; short?: string; multiple?: false };

export interface CommandSpec {
  /** The npm script name, e.g. `status`. */
  name: string;
  /** Full `--help` text (usage line first). */
  help: string;
  /** Command-specific flags; the target flags and --help are added. */
  options: Record<string, OptionSpec>;
  /** How many positional arguments are allowed. @default 0 */
  maxPositionals?: number;
}

export const TARGET_HELP = [
  'Target (default: the deployed AWS stack, through your AWS credentials):',
  '  --local             act on the stack `npm start` is running',
  `  --stack <name>      the deployed stack's name (default: $BILLING_GATE_STACK, else StripeBillingGate)`,
  '  --region <region>   its AWS region (default: AWS_REGION or your profile)',
  '  -h, --help          this text',
].join('\n');

const TARGET_OPTIONS: Record<string, OptionSpec> = {
  local: { type: 'boolean' },
  stack: { type: 'string' },
  // Accepted as well: the Stripe-facing commands (reconcile, backfill, ...) spell it so.
  'stack-name': { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export interface ParsedCommand {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  target: TargetOptions;
}

/**
 * Parses `argv` strictly: unknown flags, missing values and extra words are usage errors
 * naming the problem. `--help` throws a request for the help text (see runCommand).
 */
export function parseCommand(argv: readonly string[], spec: CommandSpec): ParsedCommand {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...TARGET_OPTIONS, ...spec.options },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError(plainParseError(err as Error));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) throw new HelpRequested();
  const max = spec.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals.slice(max).join(' ');
    throw new UsageError(`unexpected argument: ${extra}`);
  }
  for (const [name, option] of Object.entries({ ...TARGET_OPTIONS, ...spec.options })) {
    const value = values[name];
    if (option.type === 'string' && typeof value === 'string' && value.trim() === '') {
      throw new UsageError(`--${name} needs a value`);
    }
  }
  const stack = values.stack ?? values['stack-name'];
  const target: TargetOptions = { local: values.local === true };
  if (typeof stack === 'string') target.stackName = stack;
  if (typeof values.region === 'string') target.region = values.region;
  if (target.local && (target.stackName || target.region)) {
    throw new UsageError('--local cannot be combined with --stack or --region');
  }
  return { values, positionals: parsed.positionals, target };
}

/** node:util's messages mention `parseArgs` internals; keep the part an operator needs. */
function plainParseError(err: Error): string {
  return err.message.replace(/\. To specify an? (option|positional) argument.*$/s, '');
}

/**
 * Runs a command body and turns its outcome into an exit code: usage errors -> 2 with a
 * pointer to --help, expected failures -> 1 with their message, anything else -> 1 with
 * the error's name and message (never a stack trace).
 */
export async function runCommand(
  spec: Pick<CommandSpec, 'name' | 'help'>,
  io: Pick<CommandIo, 'out' | 'err'>,
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.out(spec.help);
      return EXIT_OK;
    }
    if (err instanceof UsageError) {
      io.err(`${spec.name}: ${err.message}`);
      io.err(`run \`npm run ${spec.name} -- --help\` for usage`);
      return EXIT_USAGE;
    }
    if (err instanceof TargetError || err instanceof BillingGateError) {
      io.err(`${spec.name}: ${err.message}`);
      return EXIT_FAILURE;
    }
    const e = err as { name?: string; message?: string };
    io.err(`${spec.name} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
    return EXIT_FAILURE;
  }
}

/**
 * Runs `main` with the process's arguments when `moduleUrl` is the entry point (not when a
 * test or another command imports the module), then exits with its code.
 */
export function runIfEntryPoint(
  moduleUrl: string,
  main: (argv: string[]) => Promise<number>,
): void {
  const entry = process.argv[1];
  if (!entry || pathToFileURL(path.resolve(entry)).href !== moduleUrl) return;
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}

export const CUSTOMER_ID = /^cus_[A-Za-z0-9]+$/;

/** A customer id argument, or a usage error naming what is expected. */
export function customerIdArg(value: string | undefined, what = 'a customer id'): string {
  if (value === undefined) throw new UsageError(`${what} is required (cus_...)`);
  if (!CUSTOMER_ID.test(value)) {
    throw new UsageError(
      `"${value}" is not a customer id: expected cus_ followed by letters and digits`,
    );
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// plain-text output

/** Left-aligned columns, two spaces apart, with a header row. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** `2026-11-22 10:00:00Z` for a unix time in seconds. */
export function formatUnix(seconds: number): string {
  return new Date(seconds * 1000)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A short age: `45s`, `12m`, `3h 05m`, `2d 04h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${String(h % 24).padStart(2, '0')}h`;
}
