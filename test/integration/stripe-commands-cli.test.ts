// The three Stripe-facing commands as operators run them (`tsx bin/<command>.ts`): argument
// and configuration errors end with the documented exit codes, before any network call.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function cli(command: string, args: string[], env: Record<string, string> = {}) {
  const { STRIPE_API_KEY: _k, STRIPE_API_BASE: _b, ...base } = process.env;
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(TSX, [path.join(ROOT, 'bin', `${command}.ts`), ...args], {
      cwd: ROOT,
      env: { ...base, ...env, BILLING_GATE_LOCAL_STATE: path.join(ROOT, '.local', 'none.json') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the Stripe-facing commands on the command line', () => {
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
    expect(stdout).toMatch(/^usage: npm run backfill -- \[--customer cus_\.\.\.\] \[--dry-run\]/);
  });
});
