// Starts one DynamoDB Local + SQS emulator pair for the whole vitest run and hands their
// endpoints to every test file through `inject('dynamoEndpoint')` / `inject('sqsEndpoint')`.
// Each test file creates its own uniquely named tables and queues, so files can share them.
// Builds the function bundles (dist/functions/, as `npm run build`) that every synth uses.
// The run gets a temporary folder of its own (TMPDIR for every test file and what it
// spawns, so runs side by side never see each other's files); at the end the run fails if
// anything named billing-gate-* is left in it (a helper that forgot to remove what it made),
// and the folder is removed.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmulators, type Emulators } from '../../bin/local/emulators';
import { buildFunctions } from '../../build';

/** What the tests' own temporary files and folders are named (and must remove). */
export const LEFT_BEHIND = /^billing-gate-/;

let emulators: Emulators | undefined;
let runTemp: string | undefined;
let outerTemp: string | undefined;

export async function setup(project: TestProject) {
  outerTemp = process.env.TMPDIR;
  runTemp = mkdtempSync(path.join(tmpdir(), 'sbg-test-run-'));
  // Test files are forked after this, with this process's environment.
  process.env.TMPDIR = runTemp;
  const [started, built] = await Promise.allSettled([startEmulators(), buildFunctions()]);
  if (started.status === 'fulfilled') emulators = started.value;
  if (started.status === 'rejected' || built.status === 'rejected') {
    await emulators?.stop(); // leave nothing running
    throw started.status === 'rejected' ? started.reason : (built as PromiseRejectedResult).reason;
  }
  project.provide('dynamoEndpoint', started.value.dynamoEndpoint);
  project.provide('sqsEndpoint', started.value.sqsEndpoint);
}

export async function teardown() {
  await emulators?.stop();
  if (!runTemp) return;
  const left = readdirSync(runTemp).filter((name) => LEFT_BEHIND.test(name));
  if (outerTemp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = outerTemp;
  rmSync(runTemp, { recursive: true, force: true });
  if (left.length > 0) {
    // vitest reports an error thrown here but still exits 0: fail the run explicitly.
    console.error(
      `the test run left ${left.length} billing-gate-* entries in the temporary folder (whatever creates one must remove it): ${left.join(', ')}`,
    );
    process.exitCode = 1;
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}
