// The one shape of an operator command: a definition (name, summary, arguments, options
// with their types, defaults and descriptions, examples, exit codes, run) from which both the
// argument parser and the `--help` text are generated, so the two cannot drift. Every command
// takes the same target options and maps its outcome to the same exit codes.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BillingGateError } from '../../lambdas/core/errors';
import './quiet-sdk';
import { TargetError, type TargetOptions } from './target';

export const EXIT_OK = 0;
/** The command ran and failed (or found nothing, where its help says so). */
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

// ---------------------------------------------------------------------------------------
// Definitions

export interface OptionDef {
  /**
   * `boolean`: a flag; `string`: a value; `integer`: a whole number (checked against `min`);
   * `choice`: one of `choices`.
   */
  readonly type: 'boolean' | 'string' | 'integer' | 'choice';
  /** How the value reads in the help text: `--limit <n>`. Required for string and integer. */
  readonly value?: string;
  readonly description: string;
  /** Used when the option is absent (never for booleans), and shown in the help. */
  readonly default?: string | number;
  readonly choices?: readonly string[];
  /** integer: the smallest value accepted. @default 0 */
  readonly min?: number;
  readonly short?: string;
}

export interface PositionalDef {
  /** How the argument reads in the help text, e.g. `cus_...` (shown as `<cus_...>`). */
  readonly value: string;
  readonly description: string;
}

export interface ExampleDef {
  /** The arguments after `npm run <name> --`, e.g. `cus_123 --local`. */
  readonly args: string;
  readonly note: string;
}

export interface EnvVarDef {
  readonly name: string;
  readonly description: string;
}

/**
 * One usage line: names of positionals (their key) and options, in order. `[name]` marks an
 * optional part; `a|b` alternatives. Every name must be defined (checked when defined).
 */
export type UsageForm = readonly string[];

export interface CommandDef<Deps> {
  /** The npm script name, e.g. `status`. */
  readonly name: string;
  /** One sentence: what the command does. */
  readonly summary: string;
  /** More prose for `--help`, one string per paragraph (wrapped when printed). */
  readonly description?: readonly string[];
  readonly positionals?: Readonly<Record<string, PositionalDef>>;
  readonly options: Readonly<Record<string, OptionDef>>;
  /** The usage lines; the target options are appended to each. */
  readonly usage: readonly UsageForm[];
  readonly examples: readonly ExampleDef[];
  readonly environment?: readonly EnvVarDef[];
  /** When the command exits 1, in the user's words (exit 0 and 2 are common to all). */
  readonly failure: string;
  /** Turns errors of a library into readable ones before they are printed. */
  readonly explainError?: (err: unknown) => unknown;
  run(context: CommandContext<Deps>): Promise<number>;
}

/** What a command body receives. */
export interface CommandContext<Deps> {
  readonly args: ParsedArgs;
  readonly target: TargetOptions;
  readonly io: CommandIo;
  /** What the caller injected (tests: a target, a Stripe client, ...); `{}` from the CLI. */
  readonly deps: Deps;
}

/** What every command accepts from a caller: its output sinks, environment and clock. */
export type CommandDeps = Partial<CommandIo>;

export interface Command<Deps> {
  readonly def: CommandDef<Deps>;
  /** Runs the command with these arguments; resolves to its exit code. */
  run(argv: readonly string[], deps?: Deps & CommandDeps): Promise<number>;
  /** The generated `--help` text. */
  help(): string;
}

// ---------------------------------------------------------------------------------------
// The target options every command takes

export interface TargetOptionDef extends OptionDef {
  /** Also accepted under this name. */
  readonly alias?: string;
}

export const TARGET_OPTIONS: Readonly<Record<string, TargetOptionDef>> = {
  local: {
    type: 'boolean',
    description: 'act on the stack `npm start` is running in this checkout',
  },
  stack: {
    type: 'string',
    value: 'name',
    description:
      "the deployed stack's name (default: $BILLING_GATE_STACK, else StripeBillingGate; " +
      '--stack-name is accepted too)',
    alias: 'stack-name',
  },
  region: {
    type: 'string',
    value: 'region',
    description: 'its AWS region (default: AWS_REGION or your AWS profile)',
  },
};

/** How every usage line shows the target. */
export const TARGET_USAGE = '[--local | --stack <name> [--region <region>]]';

const HELP_OPTION: OptionDef = { type: 'boolean', short: 'h', description: 'this text' };

// ---------------------------------------------------------------------------------------
// Help text

const COLUMN = 22;
const WIDTH = 96;

/** Breaks `text` into lines of at most `width` characters at spaces. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** How an option reads: `--json`, `--limit <n>`, `--mode live|test`. */
function optionUsage(name: string, option: OptionDef): string {
  if (option.type === 'boolean') return `--${name}`;
  if (option.type === 'choice') return `--${name} ${(option.choices ?? []).join('|')}`;
  return `--${name} <${option.value}>`;
}

function optionLabel(name: string, option: OptionDef): string {
  return `${option.short ? `-${option.short}, ` : ''}${optionUsage(name, option)}`;
}

/** `  --limit <n>         how many ...`, the text wrapped under its column. */
function described(label: string, text: string): string {
  const margin = ' '.repeat(COLUMN);
  const body = wrap(text, WIDTH - COLUMN).join(`\n${margin}`);
  const pad = label.length + 2 > COLUMN ? `\n${margin}` : ' '.repeat(COLUMN - label.length);
  return `${label}${pad}${body}`;
}

function optionLine(name: string, option: OptionDef): string {
  const extras: string[] = [];
  if (option.default !== undefined) extras.push(`default: ${option.default}`);
  const tail = extras.length > 0 ? ` (${extras.join('; ')})` : '';
  return described(`  ${optionLabel(name, option)}`, option.description + tail);
}

/** One usage form as it reads: `<cus_...> [--json] [--limit <n>]`. */
function renderForm(def: CommandDef<unknown>, form: UsageForm): string {
  return form
    .map((token) => {
      const optional = token.startsWith('[') && token.endsWith(']');
      const names = (optional ? token.slice(1, -1) : token).split('|');
      const parts = names.map((name) => {
        const positional = def.positionals?.[name];
        if (positional) return `<${positional.value}>`;
        const option = def.options[name];
        if (!option) throw new Error(`${def.name}: usage names "${name}", which is not defined`);
        return optionUsage(name, option);
      });
      const joined = parts.join(parts.some((p) => p.includes(' ')) ? ' | ' : '|');
      return optional ? `[${joined}]` : joined;
    })
    .join(' ');
}

export function renderHelp(def: CommandDef<unknown>): string {
  const lead = `npm run ${def.name}`;
  const lines = def.usage.map(
    (form, i) =>
      `${i === 0 ? 'Usage: ' : '       '}${lead} -- ${[renderForm(def, form), TARGET_USAGE].filter(Boolean).join(' ')}`,
  );
  lines.push('', ...wrap(def.summary, WIDTH));
  for (const paragraph of def.description ?? []) lines.push('', ...wrap(paragraph, WIDTH));
  const positionals = Object.values(def.positionals ?? {});
  if (positionals.length > 0) {
    lines.push('', 'Arguments:');
    for (const p of positionals) lines.push(described(`  <${p.value}>`, p.description));
  }
  if (Object.keys(def.options).length > 0) {
    lines.push('', 'Options:');
    for (const [name, option] of Object.entries(def.options)) lines.push(optionLine(name, option));
  }
  lines.push('', 'Target (default: the deployed AWS stack, through your AWS credentials):');
  for (const [name, option] of Object.entries(TARGET_OPTIONS)) {
    lines.push(described(`  ${optionLabel(name, option)}`, option.description));
  }
  lines.push(optionLine('help', HELP_OPTION));
  if (def.environment && def.environment.length > 0) {
    lines.push('', 'Environment:');
    for (const v of def.environment) lines.push(described(`  ${v.name}`, v.description));
  }
  lines.push(
    '',
    'Exit codes:',
    described('  0', 'done'),
    described('  1', def.failure),
    described('  2', 'bad arguments: nothing was done'),
  );
  if (def.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const e of def.examples) {
      lines.push(`  ${lead}${e.args ? ` -- ${e.args}` : ''}`, `      ${e.note}`);
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------
// Parsing

/** The parsed command line, read through typed accessors that check the names exist. */
export interface ParsedArgs {
  readonly positionals: readonly string[];
  /** A positional by its key in the definition (in definition order), if given. */
  positional(name: string): string | undefined;
  flag(name: string): boolean;
  string(name: string): string | undefined;
  integer(name: string): number | undefined;
  /** Whether the option was given on the command line (defaults do not count). */
  given(name: string): boolean;
}

/** node:util's messages mention `parseArgs` internals; keep the part an operator needs. */
function plainParseError(err: Error): string {
  return err.message.replace(/\. To specify an? (option|positional) argument.*$/s, '');
}

function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/**
 * Parses `argv` strictly against the definition and the target options: unknown options,
 * missing or malformed values and extra words are usage errors naming the problem.
 */
export function parseCommandLine(
  def: CommandDef<unknown>,
  argv: readonly string[],
): { args: ParsedArgs; target: TargetOptions } {
  const parserOptions: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  const all: Record<string, OptionDef> = { ...def.options, ...TARGET_OPTIONS };
  for (const [name, option] of Object.entries(all)) {
    parserOptions[name] = {
      type: option.type === 'boolean' ? 'boolean' : 'string',
      ...(option.short ? { short: option.short } : {}),
    };
  }
  for (const option of Object.values(TARGET_OPTIONS)) {
    if (option.alias) parserOptions[option.alias] = { type: 'string' };
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parserOptions,
      strict: true,
      allowPositionals: true,
    }) as typeof parsed;
  } catch (err) {
    throw new UsageError(plainParseError(err as Error));
  }
  const { values, positionals } = parsed;
  const positionalNames = Object.keys(def.positionals ?? {});
  if (positionals.length > positionalNames.length) {
    throw new UsageError(
      `unexpected argument: ${positionals.slice(positionalNames.length).join(' ')}`,
    );
  }

  const typed = new Map<string, string | number | boolean>();
  for (const [name, option] of Object.entries(all)) {
    const raw =
      values[name] ??
      (TARGET_OPTIONS[name]?.alias ? values[TARGET_OPTIONS[name].alias] : undefined);
    if (raw === undefined) continue;
    if (typeof raw === 'boolean') {
      typed.set(name, raw);
      continue;
    }
    if (raw.trim() === '') throw new UsageError(`--${name} needs a value`);
    if (option.type === 'integer') {
      const min = option.min ?? 0;
      if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) {
        throw new UsageError(`--${name} must be a whole number from ${min}, got "${raw}"`);
      }
      typed.set(name, Number(raw));
    } else if (option.type === 'choice' && option.choices && !option.choices.includes(raw)) {
      throw new UsageError(
        `--${name} must be ${option.choices.map((c) => `"${c}"`).join(' or ')}, got "${raw}"`,
      );
    } else {
      typed.set(name, raw);
    }
  }

  const known = (name: string): OptionDef => {
    const option = all[name];
    if (!option) throw new Error(`${def.name} reads --${name}, which it does not define`);
    return option;
  };
  const withDefault = (name: string) => {
    const option = known(name);
    return typed.get(name) ?? option.default;
  };
  const args: ParsedArgs = {
    positionals,
    positional(name) {
      const index = positionalNames.indexOf(name);
      if (index < 0) throw new Error(`${def.name} reads <${name}>, which it does not define`);
      return positionals[index];
    },
    flag: (name) => known(name) && typed.get(name) === true,
    string(name) {
      const v = withDefault(name);
      return v === undefined ? undefined : String(v);
    },
    integer(name) {
      const v = withDefault(name);
      return v === undefined ? undefined : Number(v);
    },
    given: (name) => known(name) && typed.has(name),
  };

  const target: TargetOptions = { local: typed.get('local') === true };
  const stack = typed.get('stack');
  const region = typed.get('region');
  if (typeof stack === 'string') target.stackName = stack;
  if (typeof region === 'string') target.region = region;
  if (target.local && (target.stackName || target.region)) {
    throw new UsageError('--local cannot be combined with --stack or --region');
  }
  return { args, target };
}

// ---------------------------------------------------------------------------------------
// Running

/** Checks a definition once: every usage name is defined, every value has a placeholder. */
function checkDefinition(def: CommandDef<unknown>): void {
  for (const [name, option] of Object.entries(def.options)) {
    if (name in TARGET_OPTIONS || name === 'help') {
      throw new Error(`${def.name}: --${name} is a common option`);
    }
    if ((option.type === 'string' || option.type === 'integer') && !option.value) {
      throw new Error(`${def.name}: --${name} needs a value placeholder`);
    }
    if (option.type === 'choice' && !option.choices?.length) {
      throw new Error(`${def.name}: --${name} needs its choices`);
    }
  }
  renderHelp(def);
}

export function defineCommand<Deps extends object = object>(def: CommandDef<Deps>): Command<Deps> {
  checkDefinition(def as CommandDef<unknown>);
  const help = () => renderHelp(def as CommandDef<unknown>);
  return {
    def,
    help,
    async run(argv, deps) {
      const injected = (deps ?? {}) as Deps & CommandDeps;
      const base = processIo();
      const io: CommandIo = {
        out: injected.out ?? base.out,
        err: injected.err ?? base.err,
        env: injected.env ?? base.env,
        now: injected.now ?? base.now,
      };
      if (asksForHelp(argv)) {
        io.out(help());
        return EXIT_OK;
      }
      try {
        const { args, target } = parseCommandLine(def as CommandDef<unknown>, argv);
        return await def.run({ args, target, io, deps: injected });
      } catch (caught) {
        const err = def.explainError ? def.explainError(caught) : caught;
        if (err instanceof UsageError) {
          io.err(`${def.name}: ${err.message}`);
          io.err(`run \`npm run ${def.name} -- --help\` for usage`);
          return EXIT_USAGE;
        }
        if (err instanceof TargetError || err instanceof BillingGateError) {
          io.err(`${def.name}: ${err.message}`);
          return EXIT_FAILURE;
        }
        const e = err as { name?: string; message?: string };
        io.err(`${def.name} failed: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
        return EXIT_FAILURE;
      }
    },
  };
}

/**
 * Runs the command with the process's arguments when `moduleUrl` is the entry point (not
 * when a test or another module imports it), then exits with its code.
 */
export function runIfEntryPoint(moduleUrl: string, command: Command<object>): void {
  const entry = process.argv[1];
  if (!entry || pathToFileURL(path.resolve(entry)).href !== moduleUrl) return;
  void command.run(process.argv.slice(2)).then((code) => process.exit(code));
}

// ---------------------------------------------------------------------------------------
// Shared argument checks

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
