// Where `npm start` tells the operator commands (`--local`) how to reach its stack: the
// random emulator ports, the table and the queues. Removed when it stops.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QueuePair } from './provision';

export interface LocalState {
  pid: number;
  port: number;
  webhookUrl: string;
  apiUrl: string;
  dynamoEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  queuePrefix: string;
  queues: QueuePair[];
  /** Whether the verifier uses the printed development secret or STRIPE_WEBHOOK_SECRET. */
  webhookSecret: 'default' | 'env';
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LOCAL_STATE_FILE =
  process.env.BILLING_GATE_LOCAL_STATE ?? path.join(ROOT, '.local', 'stack.json');

export function writeLocalState(state: LocalState, file = LOCAL_STATE_FILE): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
}

export function removeLocalState(file = LOCAL_STATE_FILE): void {
  rmSync(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readLocalState(file = LOCAL_STATE_FILE): LocalState {
  let state: LocalState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as LocalState;
  } catch {
    throw new Error('no local stack is running: start one with `npm start`');
  }
  if (!alive(state.pid)) {
    throw new Error(
      `the local stack recorded in ${file} (pid ${state.pid}) is not running: start one with \`npm start\``,
    );
  }
  return state;
}
