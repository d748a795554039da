// The operator commands as operators meet them: one definition per command from which both
// the parser and `--help` come (checked for every command), the npm scripts that run them,
// the exit codes, the errors that say what to do, and output free of the AWS SDK's notice.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../bin/ops/command';
import { OPERATOR_COMMANDS } from '../../bin/ops/commands';
import { capture } from '../support/stripe-commands';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const NO_STATE = path.join(mkdtempSync(path.join(tmpdir(), 'sbg-cli-')), 'stack.json');

/** Runs `tsx bin/<command>.ts`; an `undefined` in `env` removes that variable. */
function cli(command: string, args: string[], env: Record<string, string | undefined> = {}) {
  const {
    STRIPE_API_KEY: _k,
    STRIPE_API_BASE: _b,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _w,
    ...base
  } = process.env;
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(TSX, [path.join(ROOT, 'bin', `${command}.ts`), ...args], {
      cwd: ROOT,
      env: Object.fromEntries(
        Object.entries({ ...base, BILLING_GATE_LOCAL_STATE: NO_STATE, ...env }).filter(
          ([, v]) => v !== undefined,
        ),
      ),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Environment with no AWS region from anywhere (variables, profile files). */
function noRegionEnv(): Record<string, string | undefined> {
  const empty = mkdtempSync(path.join(tmpdir(), 'sbg-noaws-'));
  return {
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: path.join(empty, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(empty, 'credentials'),
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    HOME: empty,
  };
}

const commands = await Promise.all(
  OPERATOR_COMMANDS.map(async (name) => {
    const module = (await import(`../../bin/${name}.ts`)) as { command: Command<object> };
    return { name, command: module.command };
  }),
);
const scripts = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

describe.each(commands)('npm run $name', ({ name, command }) => {
  const { def } = command;
  const help = command.help();

  it('is run by the npm script of its name', () => {
    expect(def.name).toBe(name);
    expect(scripts[name]).toBe(`tsx bin/${name}.ts`);
  });

  it('prints its generated help for --help and -h, exiting 0', async () => {
    for (const flag of ['--help', '-h']) {
      const out = capture();
      expect(await command.run(['--bogus', flag], out.io)).toBe(0);
      expect(out.out.join('\n')).toBe(help);
    }
  });

  it('shows every usage line, argument and option of its definition in its help', () => {
    expect(help.startsWith(`Usage: npm run ${name} -- `)).toBe(true);
    const usageLines = help.split('\n').filter((l) => /^(Usage: | {7})npm run /.test(l));
    expect(usageLines).toHaveLength(def.usage.length);
    for (const p of Object.values(def.positionals ?? {})) {
      expect(help).toMatch(
        new RegExp(`^  <${escape(p.value)}> +${escape(firstWords(p.description))}`, 'm'),
      );
    }
    for (const [option, spec] of Object.entries(def.options)) {
      const label =
        spec.type === 'boolean'
          ? `--${option}`
          : spec.type === 'choice'
            ? `--${option} ${spec.choices!.join('|')}`
            : `--${option} <${spec.value}>`;
      expect(help).toMatch(
        new RegExp(`^  ${escape(label)}\\s+${escape(firstWords(spec.description))}`, 'm'),
      );
      if (spec.default !== undefined) expect(help).toContain(`default: ${spec.default}`);
    }
    for (const example of def.examples) {
      expect(help).toContain(`npm run ${name}${example.args ? ` -- ${example.args}` : ''}`);
    }
  });

  it('shows the target options in the same words as every other command', () => {
    const targetSection = (text: string) =>
      text.slice(text.indexOf('\nTarget ('), text.indexOf('-h, --help'));
    expect(targetSection(help)).toBe(targetSection(commands[0]!.command.help()));
    expect(help).toMatch(/^ {2}--local +act on the stack `npm start` is running/m);
    expect(help).toMatch(/^ {2}--stack <name> +/m);
    expect(help).toMatch(/^ {2}--region <region> +/m);
    for (const line of help.split('\n').filter((l) => l.includes(`npm run ${name} -- `))) {
      if (/^(Usage:| {7})/.test(line)) {
        expect(line.endsWith('[--local | --stack <name> [--region <region>]]')).toBe(true);
      }
    }
  });

  it('lists the three exit codes and says what each means', () => {
    expect(help).toMatch(
      /^Exit codes:\n {2}0 +done\n {2}1 +\S[^]*?\n {2}2 +bad arguments: nothing was done$/m,
    );
  });

  it('names no document outside the repository', () => {
    expect(help).not.toMatch(/CONTRACT|section \d/i);
  });

  it('refuses an unknown option with exit 2 and a pointer to --help, doing nothing', async () => {
    const out = capture();
    const connect = async () => {
      throw new Error('must not connect');
    };

    const deps = { ...out.io, connect };

    const code = await command.run(['--no-such-option'], deps);

    expect(code).toBe(2);
    expect(out.err[0]).toMatch(new RegExp(`^${escape(name)}: Unknown option '--no-such-option'`));
    expect(out.err[1]).toBe(`run \`npm run ${name} -- --help\` for usage`);
  });

  it('refuses --local together with --stack', async () => {
    const out = capture();

    const code = await command.run(['--local', '--stack', 'Other'], out.io);

    expect(code).toBe(2);
    expect(out.err[0]).toContain('--local cannot be combined with --stack or --region');
  });
});

describe('the operator commands as a set', () => {
  it('every npm script that runs an operator command is a defined command', () => {
    const run = Object.entries(scripts)
      .filter(([script, line]) => /^tsx bin\/[\w-]+\.ts$/.test(line) && script !== 'bench')
      .map(([script]) => script)
      .sort();

    expect(run).toEqual([...OPERATOR_COMMANDS].sort());
  });
});

describe('typed options', () => {
  const byName = (name: string) => commands.find((c) => c.name === name)!.command;

  it('an integer option refuses a word, with exit 2', async () => {
    const out = capture();

    const code = await byName('status').run(['cus_Typed1', '--limit', 'many', '--local'], out.io);

    expect(code).toBe(2);
    expect(out.err[0]).toBe('status: --limit must be a whole number from 0, got "many"');
  });

  it('a choice option refuses a value outside its choices, with exit 2', async () => {
    const out = capture();

    const code = await byName('register-endpoint').run(
      ['--url', 'https://x.example/webhook', '--mode', 'prod'],
      { ...out.io, env: { STRIPE_API_KEY: 'sk_test_typed' } },
    );

    expect(code).toBe(2);
    expect(out.err[0]).toBe('register-endpoint: --mode must be "live" or "test", got "prod"');
  });
});

describe('the commands on the command line', () => {
  it('reconcile without --since exits 2 naming the missing flag', async () => {
    const { code, stderr } = await cli('reconcile', ['--local']);

    expect(code).toBe(2);
    expect(stderr).toMatch(/reconcile: --since is required/);
  });

  it('backfill without STRIPE_API_KEY exits 1 naming the variable', async () => {
    const { code, stderr } = await cli('backfill', ['--local']);

    expect(code).toBe(1);
    expect(stderr).toMatch(/STRIPE_API_KEY is required/);
  });

  it('register-endpoint with a plain http URL exits 2', async () => {
    const { code, stderr } = await cli('register-endpoint', ['--url', 'http://example.com/hook'], {
      STRIPE_API_KEY: 'sk_test_cli_check',
    });

    expect(code).toBe(2);
    expect(stderr).toMatch(/must be an https URL/);
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await cli('backfill', ['--help']);

    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^Usage: npm run backfill -- \[--customer <cus_\.\.\.>\] \[--dry-run\] \[--local \| --stack <name>/,
    );
  });

  it('--local without npm start says how to start one', async () => {
    const { code, stderr } = await cli('status', ['cus_NoStack1', '--local']);

    expect(code).toBe(1);
    expect(stderr).toContain('no local stack is running: start one with `npm start`');
  });

  it('without --local and without an AWS region, points to --local for the local stack', async () => {
    const { code, stderr } = await cli('status', ['cus_NoRegion1'], noRegionEnv());

    expect(code).toBe(1);
    expect(stderr).toMatch(/^status: no AWS region configured: pass --region or set AWS_REGION/m);
    expect(stderr).toContain('or use --local for the stack `npm start` runs in this checkout');
  });

  it('prints no AWS SDK Node.js notice, while other warnings still print', async () => {
    // A stack that cannot be reached: the command builds its AWS clients and fails.
    const probe = 'data:text/javascript,process.emitWarning("probe warning from the test")';
    const { code, stderr } = await cli('status', ['cus_Quiet1', '--stack', 'Nowhere'], {
      ...noRegionEnv(),
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:9',
      AWS_MAX_ATTEMPTS: '1',
      NODE_OPTIONS: `--import=${probe}`,
    });

    expect(code).toBe(1);
    expect(stderr).toContain('probe warning from the test');
    expect(stderr).not.toContain('NodeVersionSupportWarning');
    expect(stderr).not.toContain('AWS SDK for JavaScript (v3)');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first few words of a description, as they appear before any wrapping. */
function firstWords(text: string): string {
  return text.split(/\s+/).slice(0, 3).join(' ');
}
