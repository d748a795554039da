// One local stack per checkout, and nothing left behind however it is stopped: a second
// `npm start` refuses and names the running one; SIGINT, SIGTERM, SIGHUP or SIGKILL to npm
// alone (as a terminal, a process manager or an IDE sends them) stops every process, frees
// every port and removes the state file; a stale state file is replaced; DynamoDB Local's
// Java process exits when the process that started it is killed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../bin/local/emulators';
import { readLocalState, type LocalState } from '../../bin/local/state-file';
import { eventually } from '../support/local-stack';
import {
  alive,
  healthy,
  killGroup,
  listening,
  npmStart,
  portOf,
  processesOfGroup,
  type NpmStart,
} from './npm-start';

/** Temporary directories of this file, removed at its end. */
const temporary: string[] = [];
afterAll(() => temporary.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const stateFileIn = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), `billing-gate-${prefix}`));
  temporary.push(dir);
  return path.join(dir, 'stack.json');
};

describe('a second npm start in the same checkout', { timeout: 180_000 }, () => {
  const stateFile = stateFileIn('sbg-one-');
  let first: NpmStart;
  let port: number;
  let state: LocalState;

  beforeAll(async () => {
    port = await freePort();
    first = npmStart({ PORT: String(port), BILLING_GATE_LOCAL_STATE: stateFile });
    await healthy(port, first);
    state = readLocalState(stateFile);
  }, 180_000);

  afterAll(() => killGroup(first?.npm.pid));

  it('refuses on another port, naming the running instance, and leaves it running', async () => {
    const second = npmStart({
      PORT: String(await freePort()),
      BILLING_GATE_LOCAL_STATE: stateFile,
    });

    const code = await second.closed;

    expect(code).not.toBe(0);
    expect(second.output()).toContain(
      `npm start is already running in this checkout (pid ${state.pid}, port ${port}`,
    );
    expect(second.output()).not.toContain('starting DynamoDB Local');
    expect(readLocalState(stateFile).pid).toBe(state.pid);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it("on the same port, says the port is held by this checkout's own npm start", async () => {
    const second = npmStart({ PORT: String(port), BILLING_GATE_LOCAL_STATE: stateFile });

    const code = await second.closed;

    expect(code).not.toBe(0);
    expect(second.output()).toContain(
      `PORT ${port} on 127.0.0.1 is in use by this checkout's own npm start (pid ${state.pid})`,
    );
    expect(readLocalState(stateFile).pid).toBe(state.pid);
  });
});

describe('a signal to npm alone', { timeout: 240_000 }, () => {
  let started: NpmStart | undefined;

  afterAll(() => killGroup(started?.npm.pid));

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as const)(
    '%s stops node, Java, every port and removes the state file',
    async (signal) => {
      // Prepare: `npm start` as a user runs it, in its own process group.
      const stateFile = stateFileIn('sbg-signal-');
      const port = await freePort();
      started = npmStart({ PORT: String(port), BILLING_GATE_LOCAL_STATE: stateFile });
      await healthy(port, started);
      const state = readLocalState(stateFile);
      const pgid = started.npm.pid!;
      const before = processesOfGroup(pgid);
      expect(before.some((p) => /DynamoDBLocal/.test(p.command))).toBe(true);
      expect(before.some((p) => p.pid === state.pid)).toBe(true);
      const ports = [port, portOf(state.dynamoEndpoint), portOf(state.sqsEndpoint)];

      // Act: npm's pid only, as a process manager stops what it started.
      process.kill(pgid, signal);

      // Assess
      await eventually(async () => processesOfGroup(pgid).length === 0, {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: `every process to end after ${signal}: ${JSON.stringify(processesOfGroup(pgid))}`,
      });
      expect(before.filter((p) => alive(p.pid))).toEqual([]);
      for (const p of ports) expect(await listening(p)).toBe(false);
      expect(existsSync(stateFile)).toBe(false);
      await started.closed;
      expect(started.output()).toContain('stopped: nothing left running');
    },
  );
});

describe('a stale state file and an orphaned child', { timeout: 180_000 }, () => {
  const stateFile = stateFileIn('sbg-stale-');
  let started: NpmStart;

  afterAll(() => killGroup(started?.npm.pid));

  it('starts over a state file whose process is gone, and records itself', async () => {
    // Prepare: the file a crashed npm start would leave behind.
    const gone = spawnSync('true').pid;
    expect(alive(gone)).toBe(false);
    writeFileSync(stateFile, JSON.stringify({ pid: gone, port: 1, phase: 'ready' }));
    const port = await freePort();

    // Act
    started = npmStart({ PORT: String(port), BILLING_GATE_LOCAL_STATE: stateFile });
    await healthy(port, started);

    // Assess
    const state = readLocalState(stateFile);
    expect(state.port).toBe(port);
    expect(processesOfGroup(started.npm.pid!).map((p) => p.pid)).toContain(state.pid);
  });

  it("DynamoDB Local's Java process exits when the process that started it is killed", async () => {
    // Prepare
    const state = readLocalState(stateFile);
    const java = processesOfGroup(started.npm.pid!).find((p) => /DynamoDBLocal/.test(p.command));
    expect(java).toBeDefined();

    // Act: SIGKILL, which no exit hook can see.
    process.kill(state.pid, 'SIGKILL');

    // Assess
    await eventually(async () => !alive(java!.pid), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `the Java process ${java!.pid} to exit`,
    });
    expect(await listening(portOf(state.dynamoEndpoint))).toBe(false);
    await eventually(async () => processesOfGroup(started.npm.pid!).length === 0, {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: `every process to end: ${JSON.stringify(processesOfGroup(started.npm.pid!))}`,
    });
  });
});

describe('npm start configuration', () => {
  it('refuses LOG_LEVEL=verbose before starting anything, naming the variable', async () => {
    const started = npmStart({
      PORT: String(await freePort()),
      LOG_LEVEL: 'verbose',
      BILLING_GATE_LOCAL_STATE: stateFileIn('sbg-log-'),
    });

    const code = await started.closed;

    expect(code).not.toBe(0);
    expect(started.output()).toContain(
      'configuration error: LOG_LEVEL must be one of DEBUG, INFO, WARN, ERROR, SILENT',
    );
    expect(started.output()).not.toContain('starting DynamoDB Local');
  });
});
