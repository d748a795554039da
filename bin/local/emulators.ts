// Starts the real local emulators that `npm start` and `npm test` run against: DynamoDB
// Local (AWS's own Java emulator, shipped inside the npm package amplify-dynamodb-simulator)
// and an SQS-compatible server speaking the SDK's JSON protocol (local-aws-sqs). Both listen
// on free loopback ports; `stop()` ends them, and so does the end of this process, however
// it ends: Java runs under a small shell guard that stops it when this process is gone.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server } from 'node:http';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createSqsServer } from 'local-aws-sqs';
import { LOCAL_AWS } from './local-aws';

export interface Emulators {
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  /** Resolves, with what happened, if DynamoDB Local ends without stop() being called. */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

/** Credentials and region the SDK clients use against the emulators. */
export { LOCAL_AWS };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function dynamoJarDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('amplify-dynamodb-simulator/package.json');
  return path.join(path.dirname(pkg), 'emulator');
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'DynamoDB Local needs a Java 17+ runtime and `java` was not found on PATH. ' +
        'On Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless',
    );
  }
}

async function waitFor(check: () => Promise<void>, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await check();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${what} did not become ready in ${timeoutMs} ms: ${String(last)}`);
}

/**
 * Runs a command (`"$@"`) and stops it when the standard input reaches its end, which
 * happens when the process holding the other end of the pipe exits, even when it is killed
 * with SIGKILL and can run no exit hook. A child that loses its parent therefore exits too.
 * SIGTERM/SIGINT/SIGHUP to the guard are passed on; the guard exits with the command's code.
 * The command itself gets /dev/null as its input (it never reads it).
 */
export const PARENT_GUARD = `
exec 3<&0 0</dev/null
"$@" 3<&- &
child=$!
(
  read -r _ <&3
  kill -TERM "$child" 2>/dev/null
  i=0
  while kill -0 "$child" 2>/dev/null && [ "$i" -lt 10 ]; do sleep 1; i=$((i + 1)); done
  kill -KILL "$child" 2>/dev/null
) &
exec 3<&-
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
code=1
while kill -0 "$child" 2>/dev/null; do
  wait "$child"
  code=$?
done
exit "$code"
`;

/** Spawns `command args...` under PARENT_GUARD; ending the returned child's stdin stops it. */
export function spawnGuarded(command: string, args: readonly string[]): ChildProcess {
  const child = spawn('sh', ['-c', PARENT_GUARD, 'parent-guard', command, ...args], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  // Nothing is ever written; a closed pipe is how the guard learns to stop.
  child.stdin?.on('error', () => undefined);
  return child;
}

export interface DynamoLocal {
  endpoint: string;
  /** The guard process; DynamoDB Local's Java process is its child. */
  child: ChildProcess;
  /** Resolves with a description when the emulator ends without being stopped. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

export async function startDynamoLocal(port?: number): Promise<DynamoLocal> {
  assertJava();
  const p = port ?? (await freePort());
  const dir = dynamoJarDir();
  const child = spawnGuarded('java', [
    `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
    '-jar',
    path.join(dir, 'DynamoDBLocal.jar'),
    '-inMemory',
    '-port',
    String(p),
  ]);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const terminateOnExit = () => child.kill('SIGTERM');
  process.once('exit', terminateOnExit);
  let stopping = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      process.removeListener('exit', terminateOnExit);
      if (!stopping) {
        resolve(`DynamoDB Local ended on its own (${signal ?? `exit code ${code}`})`);
      }
    });
  });
  const stop = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const ended = new Promise((r) => child.once('exit', r));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
    await ended;
    clearTimeout(timer);
  };
  const endpoint = `http://127.0.0.1:${p}`;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${stderr}`);
        await client.send(new ListTablesCommand({}));
      },
      'DynamoDB Local',
      60_000,
    );
  } catch (err) {
    await stop();
    throw err;
  } finally {
    client.destroy();
  }
  return { endpoint, child, exited, stop };
}

export async function startSqsServer(port?: number): Promise<{ endpoint: string; server: Server }> {
  const p = port ?? (await freePort());
  const server = await createSqsServer({
    port: p,
    hostname: '127.0.0.1',
    emulateQueueCreationLifecycle: false,
  });
  return { endpoint: `http://127.0.0.1:${p}`, server };
}

export async function startEmulators(): Promise<Emulators> {
  const [dynamoStart, sqsStart] = await Promise.allSettled([startDynamoLocal(), startSqsServer()]);
  if (dynamoStart.status === 'rejected' || sqsStart.status === 'rejected') {
    // Leave nothing running when the other one failed.
    if (dynamoStart.status === 'fulfilled') await dynamoStart.value.stop();
    if (sqsStart.status === 'fulfilled') sqsStart.value.server.close();
    throw dynamoStart.status === 'rejected'
      ? dynamoStart.reason
      : (sqsStart as PromiseRejectedResult).reason;
  }
  const dynamo = dynamoStart.value;
  const sqs = sqsStart.value;
  return {
    dynamoEndpoint: dynamo.endpoint,
    sqsEndpoint: sqs.endpoint,
    exited: dynamo.exited,
    async stop() {
      await new Promise<void>((resolve) => {
        sqs.server.closeAllConnections?.();
        sqs.server.close(() => resolve());
      });
      await dynamo.stop();
    },
  };
}
