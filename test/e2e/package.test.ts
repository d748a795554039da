// The two packages as their users get them: `npm pack` of the construct package (which
// builds it) and of the client, both tarballs installed, with nothing but aws-cdk-lib and
// constructs, into a fresh CommonJS app (`npm init -y`, the `cdk init app --language
// typescript` shape) and a fresh ES module app. In each: the README's "Embedding" example
// synthesizes as written and every function's asset holds the prebuilt code; both packages
// load in plain Node; the client's declarations type a consumer; the README's "Gate your
// provisioning code" examples run as written against `npm start`, reached through
// `.local/stack.json` alone. npm takes what it can from its cache (`--prefer-offline`).
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, stripeId } from '../../bin/events/stripe-events';
import { eventually } from '../support/local-stack';
import { codeBlocks } from './examples';
import { ROOT, startLocalStack, type LocalStack } from './npm-start';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CONSTRUCT = 'stripe-billing-gate';
const CLIENT = 'stripe-billing-gate-client';
const HANDLERS = ['notifier', 'processor', 'status-api', 'sweeper', 'verifier'];

/** The versions this repository is built and tested with, so npm finds them in its cache. */
const versionOf = (name: string): string =>
  (
    JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

interface App {
  readonly kind: 'CommonJS' | 'ES module';
  readonly dir: string;
}

let stack: LocalStack;
/** Holds the tarballs and the apps; removed at the end. */
let work: string;
let apps: Record<App['kind'], App>;

/** This environment without npm's own variables (under `npm test` they carry this repository's .npmrc). */
function outsideNpm(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name))),
    ...extra,
  };
}

/** Runs a command to its end; throws with its output unless it succeeds. */
function succeed(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: outsideNpm(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output}`)),
    );
  });
}

/** Both tarballs in `work`, then the two apps with them installed. */
async function prepare(): Promise<void> {
  await Promise.all([
    succeed('npm', ['pack', '--pack-destination', work], ROOT),
    succeed('npm', ['pack', '-w', 'client', '--pack-destination', work], ROOT),
  ]);
  const tarballs = readdirSync(work)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => path.join(work, f));
  expect(tarballs).toHaveLength(2);
  await Promise.all(
    Object.values(apps).map(async (app) => {
      mkdirSync(app.dir);
      await succeed('npm', ['init', '-y'], app.dir);
      const manifest = JSON.parse(readFileSync(path.join(app.dir, 'package.json'), 'utf8'));
      // npm 11 writes "type": "commonjs", as `cdk init app --language typescript` leaves it.
      expect(manifest.type).toBe('commonjs');
      if (app.kind === 'ES module') {
        writeFileSync(
          path.join(app.dir, 'package.json'),
          JSON.stringify({ ...manifest, type: 'module' }, null, 2),
        );
      }
      await succeed(
        'npm',
        [
          'install',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          `aws-cdk-lib@${versionOf('aws-cdk-lib')}`,
          `constructs@${versionOf('constructs')}`,
          ...tarballs,
        ],
        app.dir,
      );
    }),
  );
}

/** The TypeScript blocks of a README section, in order. */
function readmeExamples(heading: string): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  const end = readme.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThan(0);
  return codeBlocks(readme.slice(start, end))
    .filter((b) => b.language === 'ts')
    .map((b) => b.lines.join('\n'));
}

/** Runs `file` of `app` with tsx, as `cdk init`'s app runs its TypeScript. */
function runTypeScript(app: App, args: readonly string[], env: Record<string, string>) {
  return spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), args, {
    cwd: app.dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
}

/**
 * Type-checks `files` as `tsc` with `cdk init`'s NodeNext resolution would in the app that
 * holds them (`alsoChecked` in full too); the messages of every problem found.
 */
function typeErrors(files: string[], alsoChecked: string[] = [], skipLibCheck = false) {
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    strict: true,
    noEmit: true,
    skipLibCheck,
  });
  const checked = [...files, ...alsoChecked].map((f) => {
    const source = program.getSourceFile(f);
    if (!source) throw new Error(`${f} is not part of the program`);
    return source;
  });
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((f) => [
      ...program.getSyntacticDiagnostics(f),
      ...program.getSemanticDiagnostics(f),
    ]),
  ];
  return {
    program,
    messages: diagnostics.map(
      (d) =>
        `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
    ),
  };
}

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`)
        : [`${prefix}${e.name}`],
    )
    .sort();
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'billing-gate-package-'));
  apps = {
    CommonJS: { kind: 'CommonJS', dir: path.join(work, 'cjs-app') },
    'ES module': { kind: 'ES module', dir: path.join(work, 'esm-app') },
  };
  // Packing, installing and the stack's start-up overlap.
  [stack] = await Promise.all([
    startLocalStack({ stateDirPrefix: 'package-', readyTimeoutMs: 250_000 }),
    prepare(),
  ]);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 120_000);

const KINDS = ['CommonJS', 'ES module'] as const;

describe('the construct package, installed from its tarball', { timeout: 120_000 }, () => {
  /** The README's Embedding example (bin/app.ts) and a typed consumer, in each app. */
  const files = (app: App) => ({
    example: path.join(app.dir, 'bin', 'app.ts'),
    typed: path.join(app.dir, app.kind === 'CommonJS' ? 'typed.ts' : 'typed.mts'),
    declarations: path.join(app.dir, 'node_modules', CONSTRUCT, 'dist', 'index.d.cts'),
  });

  beforeAll(() => {
    const [example] = readmeExamples('Embedding the gate in your own CDK app');
    for (const app of Object.values(apps)) {
      mkdirSync(path.join(app.dir, 'bin'), { recursive: true });
      writeFileSync(files(app).example, example!);
      writeFileSync(
        files(app).typed,
        `import { App, Stack } from 'aws-cdk-lib';
         import { BillingGate, WARNINGS, type BillingGateProps } from '${CONSTRUCT}';
         const props: BillingGateProps = { stage: 'shop', ingress: 'both', eventBridgeSource: 'aws.partner/stripe.com/ed_1' };
         // @ts-expect-error: a Stripe mode is live, test or both
         const wrong: BillingGateProps = { stripeMode: 'sandbox' };
         export const gate: BillingGate = new BillingGate(new Stack(new App(), 'S'), 'G', props);
         export const ids: string[] = [WARNINGS.noAlarmSubscriber, gate.statusReaderPolicy.managedPolicyArn, String(wrong)];
        `,
      );
    }
  });

  /** One type-check per app of both files (aws-cdk-lib's declarations are large: once). */
  const checked = new Map<App['kind'], ReturnType<typeof typeErrors>>();
  const typeCheck = (app: App) => {
    if (!checked.has(app.kind)) {
      const { example, typed, declarations } = files(app);
      checked.set(app.kind, typeErrors([example, typed], [declarations], true));
    }
    return checked.get(app.kind)!;
  };

  it('holds compiled JavaScript, one declaration file and the five prebuilt functions, nothing else, with aws-cdk-lib and constructs as peers', () => {
    // Prepare
    const installed = path.join(apps.CommonJS.dir, 'node_modules', CONSTRUCT);

    // Act
    const files = filesUnder(installed);
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as Json;

    // Assess
    expect(files).toEqual(
      [
        'CHANGELOG.md',
        'README.md',
        'dist/index.cjs',
        'dist/index.d.cts',
        ...HANDLERS.map((h) => `dist/functions/${h}/index.mjs`),
        'package.json',
      ].sort(),
    );
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(manifest.dependencies ?? {}).toEqual({});
    // One aws-cdk-lib in the app: the package has no copy of its own.
    expect(existsSync(path.join(installed, 'node_modules'))).toBe(false);
  });

  it.each(KINDS)(
    'loads in a fresh %s app with require and with import, in plain Node, without TypeScript or esbuild',
    (kind) => {
      // Prepare
      const app = apps[kind];
      const probe = (module: string) =>
        `(() => { try { require.resolve('${module}'); return true; } catch { return false; } })()`;
      writeFileSync(
        path.join(app.dir, 'load.cjs'),
        `const gate = require('${CONSTRUCT}');
         const client = require('${CLIENT}');
         console.log(JSON.stringify({ construct: typeof gate.BillingGate, client: typeof client.createBillingGate, typescript: ${probe('typescript')}, esbuild: ${probe('esbuild')} }));`,
      );
      writeFileSync(
        path.join(app.dir, 'load.mjs'),
        `import { BillingGate } from '${CONSTRUCT}';
         import { createBillingGate } from '${CLIENT}';
         console.log(JSON.stringify({ construct: typeof BillingGate, client: typeof createBillingGate }));`,
      );

      // Act
      const [required, imported] = ['load.cjs', 'load.mjs'].map((file) =>
        spawnSync(process.execPath, [file], { cwd: app.dir, encoding: 'utf8' }),
      );

      // Assess
      expect([required!.stderr, imported!.stderr]).toEqual(['', '']);
      expect(JSON.parse(required!.stdout)).toEqual({
        construct: 'function',
        client: 'function',
        typescript: false,
        esbuild: false,
      });
      expect(JSON.parse(imported!.stdout)).toEqual({ construct: 'function', client: 'function' });
    },
  );

  it.each(KINDS)(
    "synthesizes the README's Embedding example as written in a fresh %s app, every function's asset holding its prebuilt code",
    (kind) => {
      // Prepare
      const app = apps[kind];
      const outdir = path.join(app.dir, 'cdk.out');

      // Act: as `cdk synth` runs `cdk init`'s app (`npx tsx bin/<name>.ts`, CDK_OUTDIR set).
      const synth = runTypeScript(app, ['bin/app.ts'], { CDK_OUTDIR: outdir });

      // Assess
      expect(synth.status, synth.stderr).toBe(0);
      expect(typeCheck(app).messages).toEqual([]);
      const template = JSON.parse(readFileSync(path.join(outdir, 'Shop.template.json'), 'utf8'));
      const assets = JSON.parse(readFileSync(path.join(outdir, 'Shop.assets.json'), 'utf8'));
      const resources = Object.values(template.Resources) as Json[];
      const functions = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
      const shipped = (handler: string) =>
        readFileSync(
          path.join(app.dir, 'node_modules', CONSTRUCT, 'dist', 'functions', handler, 'index.mjs'),
        );
      const handlers = functions.map((fn) => {
        const handler = String(fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME);
        const asset = assets.files[String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')];
        const dir = path.join(outdir, asset.source.path);
        expect(readdirSync(dir)).toEqual(['index.mjs']);
        expect(readFileSync(path.join(dir, 'index.mjs')).equals(shipped(handler))).toBe(true);
        expect(fn.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x' });
        return handler;
      });
      // Two enabled types: two processors, and one each of the other functions.
      expect(handlers.sort()).toEqual([...HANDLERS, 'processor'].sort());
      const clientRole = Object.entries(template.Resources as Record<string, Json>).find(
        ([id, r]) => r.Type === 'AWS::IAM::Role' && id.startsWith('ClientRole'),
      )![0];
      const statements = resources
        .filter(
          (r) =>
            r.Type === 'AWS::IAM::Policy' &&
            r.Properties.Roles.some((role: Json) => role.Ref === clientRole),
        )
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
      expect(statements).toEqual([
        expect.objectContaining({
          Action: 'dynamodb:GetItem',
          Condition: {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': ['REF#acct_*', 'SETTINGS', 'STATUS#*'],
            },
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
        }),
      ]);
    },
  );

  it.each(KINDS)('types a fresh %s app against one declaration file', (kind) => {
    // Act
    const { program, messages } = typeCheck(apps[kind]);

    // Assess
    expect(messages).toEqual([]);
    const ours = program
      .getSourceFiles()
      .map((f) => f.fileName)
      .filter((f) => f.includes(`/node_modules/${CONSTRUCT}/`));
    expect(ours).toEqual([files(apps[kind]).declarations]);
  });
});

describe('the client package, installed from its tarball', { timeout: 120_000 }, () => {
  it('holds an ES module and a CommonJS file, each importing nothing at run time but the AWS SDK DynamoDB client', () => {
    // Prepare
    const installed = path.join(apps.CommonJS.dir, 'node_modules', CLIENT);
    const imports = (file: string) => {
      const code = readFileSync(path.join(installed, 'dist', file), 'utf8');
      return new Set([
        ...[...code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']/g)].map(
          (m) => m[1],
        ),
        ...[...code.matchAll(/\b(?:import|require)\s*\(\s*["']([^"']+)["']/g)].map((m) => m[1]),
      ]);
    };

    // Act
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as Json;

    // Assess
    expect(filesUnder(path.join(installed, 'dist'))).toEqual([
      'index.cjs',
      'index.d.cts',
      'index.d.ts',
      'index.js',
    ]);
    expect(imports('index.js')).toEqual(new Set(['@aws-sdk/client-dynamodb']));
    expect(imports('index.cjs')).toEqual(new Set(['@aws-sdk/client-dynamodb']));
    expect(Object.keys(manifest.dependencies)).toEqual(['@aws-sdk/client-dynamodb']);
  });

  it.each([
    ['CommonJS', 'consumer.ts', 'index.d.cts'],
    ['ES module', 'consumer.mts', 'index.d.ts'],
  ] as const)(
    'types a %s consumer from one declaration file referencing no file outside dist',
    (kind, name, declarations) => {
      // Prepare
      const app = apps[kind];
      const file = path.join(app.dir, name);
      writeFileSync(
        file,
        `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
        import { createBillingGate, GateNotReadyError, UnknownStatusFormatError, type BillingStatus, type GateCheck, type GateErrorKind } from '${CLIENT}';
        const gate = createBillingGate({
          tableName: 'table',
          client: new DynamoDBClient({}),
          cacheSeconds: 5,
          consistentRead: false,
          onError: { configuration: 'deny', unavailable: 'allow' },
          unknownCustomer: 'deny',
          timeoutMs: 3000,
          logger: console,
          onErrorObserved: (e: Error, customerId: string, kind: GateErrorKind) => void [e instanceof UnknownStatusFormatError, customerId, kind],
        });
        export async function run(): Promise<boolean> {
          await gate.ready().catch((e: unknown) => { if (e instanceof GateNotReadyError) throw new Error(e.problem); });
          const r: GateCheck = await gate.check('cus_123');
          const source: 'table' | 'cache' | 'error' = r.source;
          const status: BillingStatus | null = r.status;
          const reasons: string[] = status ? status.blockers.map((b) => b.reason) : [];
          // @ts-expect-error: a policy is 'allow' or 'deny'
          createBillingGate({ tableName: 'table', onError: 'block' });
          // @ts-expect-error: the kinds are configuration and unavailable
          createBillingGate({ tableName: 'table', onError: { outage: 'deny' } });
          createBillingGate({ tableName: 'table', onError: 'deny', onErrorObserved: (e: Error, c: string) => void [e, c] });
          return r.canAllocate && source !== 'error' && reasons.length === 0;
        }
      `,
      );
      const declarationFile = path.join(app.dir, 'node_modules', CLIENT, 'dist', declarations);

      // Act
      const { program, messages } = typeErrors([file], [declarationFile]);

      // Assess
      expect(messages).toEqual([]);
      const ours = program
        .getSourceFiles()
        .map((f) => f.fileName)
        .filter((f) => f.includes(`/node_modules/${CLIENT}/`));
      expect(ours).toEqual([declarationFile]);
      expect(readFileSync(declarationFile, 'utf8')).not.toMatch(
        /from\s+["']\.|import\(["']\.|<reference path=/,
      );
    },
  );

  /** Posts an event to npm start and waits until the status API shows it applied. */
  async function applied(type: string, customer: string): Promise<void> {
    const event = buildEvent(type, { customer });
    expect((await stack.deliver(event)).status).toBe(200);
    await eventually(
      async () => {
        const res = await fetch(`${stack.base}/customers/${customer}/events`);
        return (
          res.status === 200 &&
          ((await res.json()) as { id: string }[]).some((e) => e.id === event.id)
        );
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `${event.id} applied to ${customer}` },
    );
  }

  /**
   * Exercises each README example module as a service would: `startUp()` (or `gate.ready()`),
   * then a blocked and an allowed customer through `provision()` (or `gate.check()`).
   */
  const driver = (load: 'require' | 'import') => `
    const main = async () => {
      const results = [];
      for (const file of process.argv.slice(2)) {
        const m = await ${load}('./' + file);
        const result = { file, exports: Object.keys(m).sort() };
        if (m.startUp) await m.startUp();
        if (m.gate) await m.gate.ready();
        if (m.provision) {
          result.blocked = await m.provision(process.env.BLOCKED).then(() => 'provisioned', (e) => e.message);
          result.allowed = await m.provision(process.env.ALLOWED).then(() => 'provisioned', (e) => e.message);
        }
        if (m.gate) {
          result.blocked = (await m.gate.check(process.env.BLOCKED)).canAllocate ? 'allowed' : 'blocked';
          result.allowed = (await m.gate.check(process.env.ALLOWED)).canAllocate ? 'allowed' : 'blocked';
        }
        results.push(result);
      }
      console.log(JSON.stringify(results));
    };
    main();
  `;

  it.each([
    ['CommonJS', 'require'],
    ['ES module', 'import'],
  ] as const)(
    `runs the README's "Gate your provisioning code" as written in a fresh %s app, against npm start`,
    async (kind, load) => {
      // Prepare: each TypeScript block a module of the app; customers in two states.
      const app = apps[kind];
      const examples = readmeExamples('Gate your provisioning code');
      const files = examples.map((code, i) => {
        writeFileSync(path.join(app.dir, `readme-${i + 1}.ts`), code);
        return `readme-${i + 1}.ts`;
      });
      writeFileSync(path.join(app.dir, 'driver.ts'), driver(load));
      const [blocked, allowed] = [stripeId('cus'), stripeId('cus')];
      await Promise.all([
        applied('invoice.payment_failed', blocked),
        applied('invoice.paid', allowed),
      ]);
      const state = stack.state;

      // Act: the first block reads the AWS SDK's own variables, the second the state file
      // (BILLING_GATE_LOCAL_STATE names the test stack's).
      const result = runTypeScript(app, ['driver.ts', ...files], {
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        BILLING_GATE_TABLE: state.tableName,
        AWS_REGION: state.region,
        AWS_ACCESS_KEY_ID: state.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: state.credentials.secretAccessKey,
        AWS_ENDPOINT_URL_DYNAMODB: state.dynamoEndpoint,
        BILLING_GATE_LOCAL_STATE: stack.stateFile,
        BLOCKED: blocked,
        ALLOWED: allowed,
      });

      // Assess
      expect(result.stderr).toBe('');
      expect(typeErrors(files.map((f) => path.join(app.dir, f))).messages).toEqual([]);
      expect(JSON.parse(result.stdout)).toEqual([
        {
          file: files[0],
          exports: ['provision', 'startUp'],
          blocked: 'billing: payment_failed',
          allowed: 'provisioned',
        },
        { file: files[1], exports: ['gate'], blocked: 'blocked', allowed: 'allowed' },
      ]);
    },
  );

  it.each([
    [
      'CommonJS',
      'stack.cjs',
      "const { createBillingGate } = require('stripe-billing-gate-client');\nconst { DynamoDBClient } = require('@aws-sdk/client-dynamodb');\nconst { readFileSync } = require('node:fs');",
    ],
    [
      'ES module',
      'stack.mjs',
      "import { createBillingGate } from 'stripe-billing-gate-client';\nimport { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { readFileSync } from 'node:fs';",
    ],
  ] as const)(
    "runs in plain Node in a fresh %s app by .local/stack.json alone: ready() with the stack's key, a reasoned rejection with another",
    (kind, file, imports) => {
      // Prepare: what a provisioning service does at start-up and per request.
      const app = apps[kind];
      writeFileSync(
        path.join(app.dir, file),
        `${imports}
        const local = JSON.parse(readFileSync(process.env.BILLING_GATE_LOCAL_STATE, 'utf8'));
        const config = { endpoint: local.dynamoEndpoint, region: local.region, credentials: local.credentials };
        const main = async () => {
          const gate = createBillingGate({ tableName: local.tableName, client: new DynamoDBClient(config), unknownCustomer: 'deny' });
          await gate.ready();
          const check = await gate.check(process.env.CUSTOMER);
          const other = createBillingGate({
            tableName: local.tableName,
            client: new DynamoDBClient({ ...config, credentials: { accessKeyId: 'another', secretAccessKey: 'local' } }),
          });
          const refused = await other.ready().then(() => null, (e) => ({ name: e.name, kind: e.kind, problem: e.problem, message: e.message }));
          console.log(JSON.stringify({ check, refused }));
        };
        main();
      `,
      );

      // Act
      const result = spawnSync(process.execPath, [file], {
        cwd: app.dir,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          BILLING_GATE_LOCAL_STATE: stack.stateFile,
          CUSTOMER: stripeId('cus'),
        },
      });

      // Assess
      expect(result.stderr).toBe('');
      const { check, refused } = JSON.parse(result.stdout) as {
        check: unknown;
        refused: Record<string, string>;
      };
      expect(check).toEqual({ canAllocate: false, status: null, source: 'table' });
      expect(refused).toMatchObject({
        name: 'GateNotReadyError',
        kind: 'configuration',
        problem: 'table_not_found',
      });
      expect(refused.message).toContain(`table "${stack.state.tableName}" not found in region`);
      expect(refused.message).toContain('check the access key id too');
    },
  );
});
