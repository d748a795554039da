// How the local stack notices that npm is gone when npm runs it through a shell that
// outlives it: real process trees (a shell that does not exec, a Node process under it),
// the shell killed with SIGKILL, which no process can catch or pass on.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ancestorsToWatch } from '../../bin/local/lifeline';
import { eventually } from '../support/local-stack';

const ROOT = path.resolve(__dirname, '../..');

/** `sh -c '<node script>; true'`: the trailing command keeps sh from exec'ing node. */
function underShell(script: string) {
  const child = spawn(
    'sh',
    ['-c', `"${process.execPath}" --import tsx --input-type=module -e "$SCRIPT"; true`],
    { cwd: ROOT, env: { ...process.env, SCRIPT: script }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return { child, output: () => output, closed };
}

describe('the processes the local stack watches', () => {
  it('are the shell it runs under and the first process above it that is not a shell', async () => {
    // Act
    const run = underShell(`
      import { ancestorsToWatch } from './bin/local/lifeline.ts';
      console.log(JSON.stringify(ancestorsToWatch()));
    `);
    await run.closed;

    // Assess
    const chain = JSON.parse(run.output()) as { pid: number; name: string }[];
    expect(chain.map((a) => a.pid)).toEqual([run.child.pid, process.pid]);
    expect(chain[0]!.name).toBe('sh');
  });

  it('is the parent alone when the parent is not a shell', () => {
    const chain = ancestorsToWatch(process.pid);

    expect(chain.map((a) => a.pid)).toEqual([process.pid]);
  });

  it('reports the shell gone once it is killed with SIGKILL, though its child lives on', async () => {
    // Prepare
    const run = underShell(`
      import { watchAncestors } from './bin/local/lifeline.ts';
      watchAncestors((gone) => { console.log('gone ' + gone.pid); process.exit(0); }, 50);
      console.log('watching');
      // Never outlives the test, whatever happens.
      setTimeout(() => { console.log('still here'); process.exit(1); }, 20000);
    `);
    await eventually(async () => run.output().includes('watching'), { what: 'the watcher' });

    // Act
    run.child.kill('SIGKILL');

    // Assess
    await run.closed;
    expect(run.output()).toContain(`gone ${run.child.pid}`);
  });
});
