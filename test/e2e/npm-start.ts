// Helpers for the end-to-end tests that run `npm start` itself as a user or a process
// manager does: spawned through npm in its own process group, its processes found through
// /proc (Linux), its ports probed, its state file read.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/local-stack';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface NpmStart {
  /** npm's own process; also the id of the process group of everything it starts. */
  readonly npm: ChildProcess;
  readonly output: () => string;
  /** Resolves with npm's exit code once it and every holder of its output have exited. */
  readonly closed: Promise<number | null>;
}

/** `npm start` with this environment added, in a new process group (like a shell job). */
export function npmStart(env: Record<string, string>): NpmStart {
  let output = '';
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'WARN', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  npm.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  npm.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const closed = new Promise<number | null>((resolve) => npm.once('close', resolve));
  return { npm, output: () => output, closed };
}

/** Waits until `GET /healthz` on `port` answers 200. */
export async function healthy(port: number, started: NpmStart): Promise<void> {
  await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, {
    timeoutMs: 150_000,
    intervalMs: 250,
    what: `npm start to become healthy:\n${started.output()}`,
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
