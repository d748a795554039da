// How SDK clients reach the local emulators: one region and one fixed pair of credentials
// (DynamoDB Local keeps a separate set of tables per access key and region, so every client
// of one local stack must use the same). Kept apart from emulators.ts so the operator
// commands can read it without loading the emulators.

export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;
