// `npm run test:mutation [-- --ci] [-- <stryker options>]`: mutation testing of lambdas/core.
//
// Runs Stryker (test/mutation/stryker.config.mjs) incrementally against the committed
// baseline (test/mutation/baseline.json), then reads its JSON report and checks that every
// surviving or uncovered mutant is listed, with its reason, in
// test/mutation/equivalent-mutants.json. Fails when one is not, or when the score is below
// the threshold. Its last line is always `mutation score: NN.NN%`.
//
// --ci        refuse to run more than MUTATION_CI_BUDGET mutants (default 300): CI reuses
//             the baseline's results and tests only what changed since it was committed.
// --force     (Stryker's own) test every mutant again, ignoring the baseline.
// Any other argument goes to Stryker as it is (for example `--mutate lambdas/core/rules/**`).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIG = 'test/mutation/stryker.config.mjs';
const REPORT = path.join(ROOT, 'coverage', 'mutation', 'mutation.json');
const EQUIVALENTS = path.join(ROOT, 'test', 'mutation', 'equivalent-mutants.json');
/** The score below which the run fails (percent of valid mutants killed or timed out). */
export const SCORE_THRESHOLD = 90;

export interface ReportMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
export interface Report {
  files: Record<string, { source: string; mutants: ReportMutant[] }>;
}
export interface EquivalentEntry {
  file: string;
  mutator: string;
  /** The original code the mutant replaces (whitespace-insensitive; a prefix is enough). */
  code: string;
  replacement: string;
  reason: string;
}
export interface Survivor {
  file: string;
  line: number;
  column: number;
  mutator: string;
  status: string;
  code: string;
  replacement: string;
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The source text a mutant replaces (report locations: 1-based lines and columns, end excluded). */
export function originalCode(source: string, loc: ReportMutant['location']): string {
  const lines = source.split('\n');
  const from = loc.start.column - 1;
  const to = loc.end.column - 1;
  if (loc.start.line === loc.end.line) return (lines[loc.start.line - 1] ?? '').slice(from, to);
  const first = (lines[loc.start.line - 1] ?? '').slice(from);
  const middle = lines.slice(loc.start.line, loc.end.line - 1);
  const last = (lines[loc.end.line - 1] ?? '').slice(0, to);
  return [first, ...middle, last].join('\n');
}

/** Every mutant a test did not detect, in file and line order. */
export function survivorsOf(report: Report): Survivor[] {
  const out: Survivor[] = [];
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    for (const m of mutants) {
      if (!UNDETECTED.has(m.status)) continue;
      out.push({
        file: file.split(path.sep).join('/'),
        line: m.location.start.line,
        column: m.location.start.column,
        mutator: m.mutatorName,
        status: m.status,
        code: originalCode(source, m.location),
        replacement: m.replacement ?? '',
      });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

export function matches(entry: EquivalentEntry, s: Survivor): boolean {
  return (
    entry.file === s.file &&
    entry.mutator === s.mutator &&
    squash(entry.replacement) === squash(s.replacement) &&
    squash(s.code).startsWith(squash(entry.code))
  );
}

export interface Verdict {
  score: number;
  byStatus: Record<string, number>;
  byFile: { file: string; score: number; survived: number }[];
  unlisted: Survivor[];
  listed: number;
  /** Entries of the list that no surviving mutant matches any more. */
  stale: EquivalentEntry[];
}

export function judge(report: Report, equivalents: readonly EquivalentEntry[]): Verdict {
  const byStatus: Record<string, number> = {};
  const byFile: Verdict['byFile'] = [];
  let detected = 0;
  let undetected = 0;
  for (const [file, { mutants }] of Object.entries(report.files)) {
    let d = 0;
    let u = 0;
    for (const m of mutants) {
      byStatus[m.status] = (byStatus[m.status] ?? 0) + 1;
      if (DETECTED.has(m.status)) d++;
      if (UNDETECTED.has(m.status)) u++;
    }
    detected += d;
    undetected += u;
    byFile.push({ file, score: d + u === 0 ? 100 : (100 * d) / (d + u), survived: u });
  }
  const survivors = survivorsOf(report);
  const unlisted = survivors.filter((s) => !equivalents.some((e) => matches(e, s)));
  const stale = equivalents.filter((e) => !survivors.some((s) => matches(e, s)));
  const valid = detected + undetected;
  return {
    score: valid === 0 ? 100 : (100 * detected) / valid,
    byStatus,
    byFile: byFile.sort((a, b) => a.file.localeCompare(b.file)),
    unlisted,
    listed: survivors.length - unlisted.length,
    stale,
  };
}

export function describeSurvivor(s: Survivor): string {
  const code = squash(s.code);
  const shown = code.length > 90 ? `${code.slice(0, 87)}...` : code;
  return `${s.file}:${s.line}:${s.column} ${s.mutator} (${s.status}): ${shown} -> ${squash(s.replacement)}`;
}

/** Runs Stryker; with a budget, stops it as soon as it reports more work than that. */
function runStryker(
  args: string[],
  budget: number | null,
): Promise<{ code: number; refused: string | null }> {
  return new Promise((resolve, reject) => {
    const bin = path.join(ROOT, 'node_modules', '.bin', 'stryker');
    const child = spawn(bin, ['run', CONFIG, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let refused: string | null = null;
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      if (budget === null || refused !== null) return;
      // eslint-disable-next-line no-control-regex
      buffered = (buffered + chunk.toString('utf8')).replace(/\x1b\[[0-9;]*m/g, '').slice(-4000);
      const reuse = /(\d+) of (\d+) mutant result\(s\) are reused/.exec(buffered);
      const fullRun = /a full mutation testing run will be performed/.test(buffered);
      let toTest: number | null = null;
      if (reuse) toTest = Number(reuse[2]) - Number(reuse[1]);
      else if (fullRun) toTest = Infinity;
      if (toTest !== null && toTest > budget) {
        refused =
          toTest === Infinity
            ? 'no usable baseline: every mutant would be tested'
            : `${toTest} mutants changed since the baseline, over the CI budget of ${budget}`;
        child.kill('SIGTERM');
      } else if (toTest !== null) {
        budget = null; // within budget: let it run
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (budget !== null && refused === null) {
        console.warn(
          'warning: Stryker never said how many mutants changed; the budget was not applied',
        );
      }
      resolve({ code: code ?? 1, refused });
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const ci = argv.includes('--ci');
  const strykerArgs = argv.filter((a) => a !== '--ci');
  // CI logs have no terminal: the per-mutant progress lines would only bury the verdict.
  if (ci) strykerArgs.push('--reporters', 'clear-text,json,html');
  const budget = ci ? Number(process.env.MUTATION_CI_BUDGET ?? 300) : null;

  const { code, refused } = await runStryker(strykerArgs, budget);
  if (refused !== null) {
    console.error(
      `\nmutation testing refused: ${refused}.\n` +
        'Refresh the baseline where you changed lambdas/core or its tests:\n' +
        '  npm run test:mutation            (only what changed; --force: everything)\n' +
        '  git add test/mutation/baseline.json test/mutation/equivalent-mutants.json',
    );
    return 1;
  }
  if (code !== 0 || !existsSync(REPORT)) {
    console.error(`\nStryker exited with ${code}; no report to judge.`);
    return code === 0 ? 1 : code;
  }

  const report = JSON.parse(readFileSync(REPORT, 'utf8')) as Report;
  const equivalents = JSON.parse(readFileSync(EQUIVALENTS, 'utf8')) as EquivalentEntry[];
  const verdict = judge(report, equivalents);

  console.log('\nmutants by status:', JSON.stringify(verdict.byStatus));
  for (const f of verdict.byFile) {
    console.log(`  ${f.score.toFixed(2).padStart(6)}%  ${f.file} (${f.survived} undetected)`);
  }
  console.log(
    `undetected mutants: ${verdict.listed} listed as unable to change a result, ${verdict.unlisted.length} not listed`,
  );
  for (const s of verdict.unlisted) console.log(`  NOT LISTED ${describeSurvivor(s)}`);
  for (const e of verdict.stale) {
    console.log(`  stale entry (no such survivor now): ${e.file} ${e.mutator}: ${squash(e.code)}`);
  }
  let failed = false;
  if (verdict.unlisted.length > 0) {
    console.log(
      'FAIL: kill each mutant NOT LISTED with a behaviour test, or add it to ' +
        'test/mutation/equivalent-mutants.json with the reason it cannot change a result.',
    );
    failed = true;
  }
  if (verdict.score < SCORE_THRESHOLD) {
    console.log(`FAIL: the mutation score is below ${SCORE_THRESHOLD}%.`);
    failed = true;
  }
  console.log(`mutation score: ${verdict.score.toFixed(2)}%`);
  return failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
