// Helpers for the tests that run the local stack (`npm start`) as a user or a process
// manager does: spawned in its own process group, its processes found through /proc (Linux),
// its ports probed, its state file read. `startLocalStack` is the one way a test starts a
// stack it uses and stops it again; `npmStart` is the raw start for the tests that are about
// starting and stopping itself.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { freePort } from '../../bin/local/emulators';
import { LOCAL_AWS } from '../../bin/local/local-aws';
import { readLocalState, type LocalState } from '../../bin/local/state-file';
import { signatureHeader } from '../../bin/events/stripe-events';
import { FactStore } from '../../lambdas/adapters/fact-store';
import { DEFAULTS } from '../../lambdas/config';
import type { StripeEvent } from '../../lambdas/core/stripe-event';
import { eventually } from '../support/local-stack';
import { storeOptions } from '../../lambdas/settings';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/** Variables of the developer's shell that would change what the stack or a command does. */
const AMBIENT = [
  'STRIPE_WEBHOOK_SECRET',
  'INGRESS',
  'EVENTBRIDGE_SOURCE',
  'BILLING_GATE_LOCAL_STATE',
  'PORT',
];

/** This process's environment without AMBIENT, with `extra` added. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const name of AMBIENT) delete env[name];
  return { ...env, ...extra };
}

/**
 * A new state file path in a new temporary directory (`billing-gate-<prefix>...`, removed by
 * the stack's stop()): a stack of its own.
 */
const freshStateFile = (prefix = 'sbg-'): string =>
  path.join(mkdtempSync(path.join(tmpdir(), `billing-gate-${prefix}`)), 'stack.json');

interface Spawned {
  /** The spawned process; its pid is also the id of the process group of all it starts. */
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code once it and every holder of its output have exited. */
  readonly closed: Promise<number | null>;
}

/** Spawns in a new process group (like a shell job), keeping the last 20,000 characters. */
function spawnGroup(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Spawned {
  let output = '';
  const child = spawn(command, args, {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  return { child, output: () => output, closed };
}

export interface NpmStart {
  /** npm's own process; also the id of the process group of everything it starts. */
  readonly npm: ChildProcess;
  readonly output: () => string;
  /** Resolves with npm's exit code once it and every holder of its output have exited. */
  readonly closed: Promise<number | null>;
}

/** `npm start` with this environment added, in a new process group (like a shell job). */
export function npmStart(env: Record<string, string>): NpmStart {
  const { child, output, closed } = spawnGroup(
    'npm',
    ['start'],
    cleanEnv({ LOG_LEVEL: 'WARN', ...env }),
  );
  return { npm: child, output, closed };
}

/** Waits until `GET /healthz` on `port` answers 200. */
export async function healthy(port: number, started: NpmStart): Promise<void> {
  await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, {
    timeoutMs: 150_000,
    intervalMs: 250,
    what: `npm start to become healthy:\n${started.output()}`,
  });
}

/**
 * Groups started and not yet stopped: killed when the test process exits, so a stack whose
 * start-up outlived its hook's timeout (and so never reached the test) is not left running.
 */
const unstopped = new Set<number>();
process.once('exit', () => unstopped.forEach(killGroup));

export interface LocalStackOptions {
  /** What follows `npm start --`, e.g. `['--ingress', 'eventbridge']`. */
  readonly args?: readonly string[];
  /**
   * Added to the environment (LOG_LEVEL is WARN unless given here). PORT defaults to a free
   * port and BILLING_GATE_LOCAL_STATE to a file of its own, so stacks never share one.
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * `npm` (the default): `npm start` itself, npm and its shell in the group, as a user runs
   * it. `node`: what the start script runs, without npm (lighter, for the load tests).
   */
  readonly via?: 'npm' | 'node';
  /** Prefix of the temporary directory of the state file. */
  readonly stateDirPrefix?: string;
  /** How long it may take to become ready; keep it below the hook's own timeout. */
  readonly readyTimeoutMs?: number;
}

export interface LocalStack {
  /** `http://127.0.0.1:<port>`: the webhook, the bus, the status API and /healthz. */
  readonly base: string;
  readonly port: number;
  readonly stateFile: string;
  /** What the stack recorded for the --local commands: emulator endpoints, table, queues. */
  readonly state: LocalState;
  /** The id of the stack's process group. */
  readonly pgid: number;
  readonly output: () => string;
  readonly closed: Promise<number | null>;
  /** Clients of the stack's own emulators and its table (destroyed by stop()). */
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly store: FactStore;
  /** The environment of a command run with --local against this stack, with `extra` added. */
  commandEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** Posts `event` to /webhook signed with the stack's secret, as Stripe would. */
  deliver(event: StripeEvent): Promise<{ status: number; body: string }>;
  /** SIGINT to the whole group (Ctrl-C), waiting for it to end; SIGKILL for what is left. */
  stop(): Promise<void>;
}

/**
 * Starts a local stack in a new process group and resolves once `/healthz` answers 200 and
 * the state file says it is ready. Fails, leaving nothing running, if it exits first or is
 * not ready in time.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const args = options.args ?? [];
  const port = Number(options.env?.PORT ?? (await freePort()));
  const stateFile =
    options.env?.BILLING_GATE_LOCAL_STATE ?? freshStateFile(options.stateDirPrefix ?? 'sbg-');
  /** The directory made for the state file here, removed with the stack. */
  const ownDir = options.env?.BILLING_GATE_LOCAL_STATE ? undefined : path.dirname(stateFile);
  const removeOwnDir = () => ownDir && rmSync(ownDir, { recursive: true, force: true });
  const env = cleanEnv({
    LOG_LEVEL: 'WARN',
    ...options.env,
    PORT: String(port),
    BILLING_GATE_LOCAL_STATE: stateFile,
  });
  const started =
    options.via === 'node'
      ? spawnGroup(
          process.execPath,
          ['--import', 'tsx', path.join('bin', 'local', 'start.ts'), ...args],
          env,
        )
      : spawnGroup('npm', ['start', ...(args.length > 0 ? ['--', ...args] : [])], env);
  const pgid = started.child.pid!;
  unstopped.add(pgid);
  const base = `http://127.0.0.1:${port}`;

  let state: LocalState;
  try {
    state = await Promise.race([
      eventually(
        async () => (await fetch(`${base}/healthz`)).status === 200 && readLocalState(stateFile),
        {
          timeoutMs: options.readyTimeoutMs ?? 100_000,
          intervalMs: 250,
          what: 'npm start to become ready',
        },
      ),
      started.closed.then((code): never => {
        throw new Error(`npm start exited (${code}) before it was ready`);
      }),
    ]);
  } catch (err) {
    killGroup(pgid);
    unstopped.delete(pgid);
    removeOwnDir();
    throw new Error(`${(err as Error).message}:\n${started.output()}`);
  }

  const dynamo = new DynamoDBClient({ ...LOCAL_AWS, endpoint: state.dynamoEndpoint });
  const sqs = new SQSClient({ ...LOCAL_AWS, endpoint: state.sqsEndpoint });
  const secret = options.env?.STRIPE_WEBHOOK_SECRET ?? DEFAULTS.localWebhookSecret;
  let stopped: Promise<void> | undefined;
  return {
    base,
    port,
    stateFile,
    state,
    pgid,
    output: started.output,
    closed: started.closed,
    dynamo,
    sqs,
    store: new FactStore(dynamo, state.tableName, storeOptions()),
    commandEnv: (extra = {}) => cleanEnv({ ...extra, BILLING_GATE_LOCAL_STATE: stateFile }),
    async deliver(event) {
      const payload = JSON.stringify(event);
      const post = () =>
        fetch(`${base}/webhook`, {
          method: 'POST',
          body: payload,
          headers: {
            'content-type': 'application/json',
            'stripe-signature': signatureHeader(payload, secret),
          },
        });
      const res = await retryDroppedConnection(post);
      return { status: res.status, body: await res.text() };
    },
    stop: () =>
      (stopped ??= (async () => {
        dynamo.destroy();
        sqs.destroy();
        if (processesOfGroup(pgid).length > 0) {
          try {
            process.kill(-pgid, 'SIGINT');
          } catch {
            // already gone
          }
          await Promise.race([started.closed, new Promise((r) => setTimeout(r, 15_000).unref())]);
        }
        killGroup(pgid);
        unstopped.delete(pgid);
        removeOwnDir();
      })()),
  };
}

/** Socket-level failures before any answer: the request may never have reached the server. */
const DROPPED = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * Sends again when the connection dropped before any answer, as Stripe retries a delivery it
 * got no answer to. A test worker that blocked its event loop (a synchronous compile or
 * install) can pick a pooled keep-alive socket whose close it has not read yet; a webhook is
 * safe to send twice (the gate applies each event id once). Any answer, or any other
 * failure, is returned or thrown as it is.
 */
export async function retryDroppedConnection(send: () => Promise<Response>): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      const code = ((err as Error).cause as { code?: string } | undefined)?.code;
      if (attempt >= 3 || code === undefined || !DROPPED.has(code)) throw err;
    }
  }
}

/**
 * Posts until a 200, backing off on 5xx and refused connections (as Stripe and EventBridge
 * retry); any other answer to a valid request fails at once. Resolves with the body.
 */
export async function postUntilAccepted(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
      const text = await res.text();
      if (res.status === 200) return text;
      if (res.status < 500) throw new RefusedValidRequest(`${res.status} ${text}`);
    } catch (err) {
      if (attempt > 20 || err instanceof RefusedValidRequest) throw err;
    }
    await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
  }
}

class RefusedValidRequest extends Error {
  constructor(answer: string) {
    super(`refused a valid request: ${answer}`);
  }
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bin/<script>.ts` as `npm run <script>` does (tsx), with this environment. With
 * `timeoutMs`, one that runs longer (a start-up that wrongly succeeds) gets SIGINT.
 */
export function runCommand(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  { timeoutMs }: { timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [path.join('bin', `${script}.ts`), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(timeoutMs === undefined ? {} : { timeout: timeoutMs, killSignal: 'SIGINT' as const }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  command: string;
}

/** Live (not zombie) processes of a process group, with their command lines. */
export function processesOfGroup(pgid: number): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command: state ppid pgrp ...
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) !== pgid || state === 'Z') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      found.push({ pid: Number(entry), ppid: Number(ppid), command });
    } catch {
      // the process ended while being read
    }
  }
  return found;
}

/** Whether `pid` is running (a zombie, ended but not yet reaped, is not). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The port of an `http://127.0.0.1:<port>` endpoint. */
export const portOf = (endpoint: string): number => Number(new URL(endpoint).port);

/** Kills whatever is left of a process group (test clean-up). */
export function killGroup(pgid: number | undefined): void {
  if (!pgid || processesOfGroup(pgid).length === 0) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}
