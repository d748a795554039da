// Starts one DynamoDB Local + SQS emulator pair for the whole vitest run and hands their
// endpoints to every test file through `inject('dynamoEndpoint')` / `inject('sqsEndpoint')`.
// Each test file creates its own uniquely named tables and queues, so files can share them.
import type { TestProject } from 'vitest/node';
import { startEmulators, type Emulators } from '../../bin/local/emulators';

let emulators: Emulators | undefined;

export async function setup(project: TestProject) {
  emulators = await startEmulators();
  project.provide('dynamoEndpoint', emulators.dynamoEndpoint);
  project.provide('sqsEndpoint', emulators.sqsEndpoint);
}

export async function teardown() {
  await emulators?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sqsEndpoint: string;
  }
}
