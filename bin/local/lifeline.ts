// How `npm start` notices that the npm that started it is gone, however it went (SIGHUP or
// SIGKILL included, which npm does not pass on): the processes between this one and npm
// (the shell npm runs scripts with, when it does not exec) and npm itself are recorded at
// start, and each is watched; if any ends, the local stack stops.

import { readFileSync } from 'node:fs';

/** A process as first seen: a pid reused by another process later is not the same one. */
export interface Ancestor {
  readonly pid: number;
  /** Its start time (clock ticks since boot, /proc/<pid>/stat field 22), or null without /proc. */
  readonly startedAt: string | null;
  /** Its command name, for messages. */
  readonly name: string;
}

/** What stands between a script and npm when npm runs it through a shell. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'busybox']);

interface Stat {
  readonly name: string;
  readonly state: string;
  readonly ppid: number;
  readonly startedAt: string;
}

/** /proc/<pid>/stat (Linux), or null when the process or /proc does not exist. */
function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const name = text.slice(text.indexOf('(') + 1, close);
    // Fields after the name: state ppid pgrp session tty tpgid flags ... starttime (the 20th).
    const fields = text.slice(close + 2).split(' ');
    return { name, state: fields[0]!, ppid: Number(fields[1]), startedAt: fields[19]! };
  } catch {
    return null;
  }
}

/**
 * The processes to watch: the parent, and while it is a shell its parent too, up to and
 * including the first that is not a shell (npm, or whatever started this process directly).
 * Without /proc (macOS), only the parent.
 */
export function ancestorsToWatch(parent = process.ppid): Ancestor[] {
  const chain: Ancestor[] = [];
  let pid = parent;
  for (let depth = 0; depth < 8 && pid > 1; depth++) {
    const s = stat(pid);
    if (!s) return chain.length > 0 ? chain : [{ pid, startedAt: null, name: 'parent' }];
    chain.push({ pid, startedAt: s.startedAt, name: s.name });
    if (!SHELLS.has(s.name)) break;
    pid = s.ppid;
  }
  return chain;
}

/** Whether `ancestor` is still running (a zombie has ended; a reused pid is another process). */
export function stillRunning(ancestor: Ancestor): boolean {
  if (ancestor.startedAt === null) {
    try {
      process.kill(ancestor.pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const s = stat(ancestor.pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X' && s.startedAt === ancestor.startedAt;
}

/**
 * Calls `ended` once, with the first watched process found gone, checking every `everyMs`;
 * also when this process has been re-parented (the parent gone, seen without /proc). The
 * timer does not keep the process alive.
 */
export function watchAncestors(
  ended: (gone: Ancestor) => void,
  everyMs: number,
  ancestors = ancestorsToWatch(),
): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    const gone =
      ancestors.find((a) => !stillRunning(a)) ??
      (process.ppid !== parent ? { pid: parent, startedAt: null, name: 'parent' } : undefined);
    if (!gone) return;
    clearInterval(timer);
    ended(gone);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
