// Starts the real local emulators that `npm start` and `npm test` run against: DynamoDB
// Local (AWS's own Java emulator, shipped inside the npm package amplify-dynamodb-simulator)
// and an SQS-compatible server speaking the SDK's JSON protocol (local-aws-sqs). Both listen
// on free loopback ports; `stop()` ends them, and so does the exit of this process.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server } from 'node:http';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { createSqsServer } from 'local-aws-sqs';

export interface Emulators {
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  stop(): Promise<void>;
}

/** Credentials and region the SDK clients use against the emulators. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

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

export async function startDynamoLocal(
  port?: number,
): Promise<{ endpoint: string; child: ChildProcess }> {
  assertJava();
  const p = port ?? (await freePort());
  const dir = dynamoJarDir();
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      path.join(dir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-port',
      String(p),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
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
    child.kill('SIGKILL');
    throw err;
  } finally {
    client.destroy();
  }
  return { endpoint, child };
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
  const [dynamo, sqs] = await Promise.all([startDynamoLocal(), startSqsServer()]);
  return {
    dynamoEndpoint: dynamo.endpoint,
    sqsEndpoint: sqs.endpoint,
    async stop() {
      await new Promise<void>((resolve) => {
        sqs.server.closeAllConnections?.();
        sqs.server.close(() => resolve());
      });
      if (dynamo.child.exitCode === null) {
        const exited = new Promise((r) => dynamo.child.once('exit', r));
        dynamo.child.kill('SIGTERM');
        const timer = setTimeout(() => dynamo.child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
