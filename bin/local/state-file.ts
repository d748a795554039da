// Where `npm start` tells the operator commands (`--local`) and the client package how to
// reach its stack: the random emulator ports, the region and credentials the emulators take,
// the table and the queues. The file is also the lock that keeps one
// local stack per checkout: `npm start` claims it (an exclusive create) before it starts
// anything, a live owner makes a second `npm start` refuse, and only its owner removes it.

import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueuePair } from './provision';

export interface LocalState {
  pid: number;
  port: number;
  /** `starting` from the claim until the stack is ready; then the fields below are set. */
  phase?: 'starting' | 'ready';
  webhookUrl: string;
  apiUrl: string;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  /** The region every client of this stack uses (DynamoDB Local keeps tables per region). */
  region: string;
  /** The credentials every client of this stack uses (and per access key id). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  tableName: string;
  queuePrefix: string;
  queues: QueuePair[];
  /** Whether the verifier uses the printed development secret or STRIPE_WEBHOOK_SECRET. */
  webhookSecret: 'default' | 'env';
}

/** What a starting instance records before anything else. */
export interface LocalClaim {
  pid: number;
  port: number;
  phase: 'starting';
  startedAt: string;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LOCAL_STATE_FILE =
  process.env.BILLING_GATE_LOCAL_STATE ?? path.join(ROOT, '.local', 'stack.json');

/** Another live `npm start` of this checkout holds the state file. */
export class LocalStackRunning extends Error {
  constructor(
    readonly running: { pid: number; port: number },
    readonly file: string,
  ) {
    super(
      `npm start is already running in this checkout (pid ${running.pid}, port ${running.port})`,
    );
    this.name = 'LocalStackRunning';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` is a running `npm start` (bin/local/start.ts). Where /proc exists, a live process
 * running something else is a pid reused after a crash or a reboot, so its file is stale.
 */
export function isLocalStackProcess(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('local/start.ts');
  } catch {
    return true; // no /proc (macOS): a live pid is taken at its word
  }
}

function readRecord(file: string): (Partial<LocalState> & { pid: number; port: number }) | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalState>;
    return typeof parsed.pid === 'number' && typeof parsed.port === 'number'
      ? (parsed as Partial<LocalState> & { pid: number; port: number })
      : null;
  } catch {
    return null;
  }
}

/** The live `npm start` recorded in the file, if any. */
export function runningLocalStack(file = LOCAL_STATE_FILE): { pid: number; port: number } | null {
  const record = readRecord(file);
  return record && isLocalStackProcess(record.pid) ? { pid: record.pid, port: record.port } : null;
}

/**
 * Claims the state file for this process, atomically. A file left by a process that is no
 * longer running is replaced; a live owner makes it throw LocalStackRunning.
 */
export function claimLocalState(
  claim: { pid: number; port: number },
  file = LOCAL_STATE_FILE,
): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const record: LocalClaim = { ...claim, phase: 'starting', startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(record, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const running = runningLocalStack(file);
    if (running && running.pid !== claim.pid) throw new LocalStackRunning(running, file);
    rmSync(file, { force: true }); // stale: its process is gone
  }
  throw new Error(`could not claim ${file}: another npm start keeps replacing it`);
}

/** Records the ready stack (replacing the claim in one rename, so readers never see half). */
export function writeLocalState(state: LocalState, file = LOCAL_STATE_FILE): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify({ ...state, phase: 'ready' }, null, 2) + '\n', {
    mode: 0o600,
  });
  renameSync(temporary, file);
}

/** Removes the file if `pid` (this process by default) owns it; another owner's stays. */
export function releaseLocalState(file = LOCAL_STATE_FILE, pid = process.pid): void {
  if (readRecord(file)?.pid === pid) rmSync(file, { force: true });
}

export function readLocalState(file = LOCAL_STATE_FILE): LocalState {
  const record = readRecord(file);
  if (!record) throw new Error('no local stack is running: start one with `npm start`');
  if (!isLocalStackProcess(record.pid)) {
    throw new Error(
      `the local stack recorded in ${file} (pid ${record.pid}) is not running: start one with \`npm start\``,
    );
  }
  if (record.phase === 'starting' || !record.dynamoEndpoint) {
    throw new Error(
      `the local stack (pid ${record.pid}, port ${record.port}) is still starting: wait until it prints that it is running`,
    );
  }
  return record as LocalState;
}
