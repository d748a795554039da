// Cold-start load time of the built functions: the time to import a handler, with the SDK
// clients it creates at module scope, in a fresh Node process. Two builds side by side:
// `bundled` exactly as the stack ships it (the AWS SDK inside one minified file) and
// `external` with `@aws-sdk/*` left out and resolved from node_modules, as a function that
// relies on the runtime's SDK would load it. Plain data out; the bench decides what to print.
//
//   npx tsx bin/bench/load-time.ts [verifier processor ...]   prints the report as JSON

import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESBUILD_SHAPE, handlerEntry, type HandlerName } from '../../lib/gate-function';

/** Budget: the shipped build loads in at most this fraction of the external one's time. */
export const LOAD_TIME_BUDGET_RATIO = 0.5;

export interface LoadTimeVariant {
  /** Median import time over the runs, milliseconds. */
  readonly medianMs: number;
  /** Every run, in order. */
  readonly runsMs: readonly number[];
  /** Size of the built file. */
  readonly bytes: number;
}

export interface LoadTimeResult {
  readonly handler: HandlerName;
  readonly bundled: LoadTimeVariant;
  readonly external: LoadTimeVariant;
  /** bundled.medianMs / external.medianMs. */
  readonly ratio: number;
  readonly budgetRatio: number;
  readonly withinBudget: boolean;
}

export interface LoadTimeOptions {
  /** @default ['verifier'] */
  readonly handlers?: readonly HandlerName[];
  /** Imports per variant (alternating, so drift hits both alike). @default 7 */
  readonly runs?: number;
}

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * What the handlers read at module scope, so they load as they do in Lambda. Nothing is
 * called: creating a client sends no request.
 */
const MODULE_SCOPE_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_LAMBDA_LOG_LEVEL: 'INFO',
  POWERTOOLS_METRICS_DISABLED: 'true',
  QUEUE_URL_PREFIX: 'https://sqs.us-east-1.amazonaws.com/000000000000/sbg-bench-',
  STRIPE_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench',
  TABLE_NAME: 'bench',
  EVENT_TYPE: 'invoice.paid',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:bench',
};

async function buildVariant(
  handler: HandlerName,
  variant: 'bundled' | 'external',
): Promise<string> {
  // The external build must sit inside the repository so `@aws-sdk/*` resolves from its
  // node_modules; the shipped build sits outside it, where nothing could be resolved.
  const dir =
    variant === 'external'
      ? join(REPO, 'node_modules', '.cache', 'load-time-bench', `${handler}-${process.pid}`)
      : mkdtempSync(join(tmpdir(), `load-time-${handler}-`));
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index.mjs');
  await build({
    entryPoints: [handlerEntry(handler)],
    outfile,
    bundle: true,
    logLevel: 'silent',
    target: ESBUILD_SHAPE.target,
    format: ESBUILD_SHAPE.format,
    platform: ESBUILD_SHAPE.platform,
    minify: ESBUILD_SHAPE.minify,
    mainFields: [...ESBUILD_SHAPE.mainFields],
    banner: { js: ESBUILD_SHAPE.banner },
    external: variant === 'external' ? ['@aws-sdk/*'] : [...ESBUILD_SHAPE.external],
  });
  return outfile;
}

/** One import of `file` in a fresh Node process; the milliseconds the import took. */
function importOnce(file: string): Promise<number> {
  const script =
    'const t = performance.now();' +
    `await import(${JSON.stringify(pathToFileURL(file).href)});` +
    'process.stdout.write(String(performance.now() - t));';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...MODULE_SCOPE_ENV },
      cwd: dirname(file),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(out.trim());
      if (code !== 0 || !Number.isFinite(ms)) {
        reject(new Error(`importing ${file} failed (exit ${code}): ${err || out}`));
      } else resolve(ms);
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export async function measureLoadTimes(options: LoadTimeOptions = {}): Promise<LoadTimeResult[]> {
  const runs = options.runs ?? 7;
  const results: LoadTimeResult[] = [];
  for (const handler of options.handlers ?? ['verifier']) {
    const files = {
      bundled: await buildVariant(handler, 'bundled'),
      external: await buildVariant(handler, 'external'),
    };
    try {
      const times = { bundled: [] as number[], external: [] as number[] };
      // One untimed import each first: the file system cache is then warm for both alike.
      await importOnce(files.bundled);
      await importOnce(files.external);
      for (let i = 0; i < runs; i++) {
        times.bundled.push(await importOnce(files.bundled));
        times.external.push(await importOnce(files.external));
      }
      const variant = (v: 'bundled' | 'external'): LoadTimeVariant => ({
        medianMs: round(median(times[v])),
        runsMs: times[v].map(round),
        bytes: statSync(files[v]).size,
      });
      const bundled = variant('bundled');
      const external = variant('external');
      const ratio = Math.round((median(times.bundled) / median(times.external)) * 100) / 100;
      results.push({
        handler,
        bundled,
        external,
        ratio,
        budgetRatio: LOAD_TIME_BUDGET_RATIO,
        withinBudget: ratio <= LOAD_TIME_BUDGET_RATIO,
      });
    } finally {
      for (const file of Object.values(files))
        rmSync(dirname(file), { recursive: true, force: true });
    }
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const handlers = process.argv.slice(2) as HandlerName[];
  const report = await measureLoadTimes(handlers.length ? { handlers } : {});
  console.log(JSON.stringify(report, null, 2));
}
