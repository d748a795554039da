// The deployment's settings that every reader of a status evaluates it by (the access policy
// and the card warning window), read once from the environment at cold start or start-up,
// with the hash that identifies them: status items record the hash their derived attributes
// were computed under, and the settings item in the table carries it for the client.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { StatusSettings } from './core/billing-status';
import { ConfigError } from './core/errors';
import {
  DEFAULT_POLICY,
  PolicyError,
  parsePolicy,
  parsePolicyJson,
  policyDocument,
  type Policy,
  type PolicyDocument,
} from './core/policy';
import { expiryWarningDays, optionalString, type Env } from './config';
import { ENV } from './lambda-env';

export interface GateSettings extends StatusSettings {
  /** What identifies these settings: a change of either part changes it. */
  readonly hash: string;
  /** The policy as a document of what differs from the defaults (canonical). */
  readonly policyDocument: PolicyDocument;
}

/** The settings of a policy and warning window, with their hash. */
export function gateSettings(policy: Policy, days: number): GateSettings {
  const document = policyDocument(policy);
  const hash = createHash('sha256')
    .update(JSON.stringify({ policy: document, expiryWarningDays: days }))
    .digest('hex')
    .slice(0, 16);
  return { policy, expiryWarningDays: days, hash, policyDocument: document };
}

export const DEFAULT_GATE_SETTINGS = gateSettings(DEFAULT_POLICY, 30);

/**
 * A policy given as JSON text or as the path of a JSON file (`GATE_POLICY`, the `policy`
 * context key, `npm start -- --policy <file>`); the error names `source`.
 */
export function readPolicy(value: string, source: string): Policy {
  const text = value.trim().startsWith('{') ? value : readPolicyFile(value, source);
  try {
    return parsePolicyJson(text);
  } catch (err) {
    if (err instanceof PolicyError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

function readPolicyFile(path: string, source: string): string {
  try {
    return readFileSync(path.trim(), 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${source}: cannot read the policy file ${JSON.stringify(path.trim())} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give a JSON object or the path of a JSON file`,
    );
  }
}

/** A policy document given as an object (the typed construct prop). */
export function policyOf(document: unknown, source: string): Policy {
  try {
    return parsePolicy(document);
  } catch (err) {
    if (err instanceof PolicyError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

/** The settings a function or the local twin runs with: GATE_POLICY and EXPIRY_WARNING_DAYS. */
export function settingsFromEnv(env: Env): GateSettings {
  const policy = optionalString(env, ENV.policy);
  return gateSettings(
    policy === undefined ? DEFAULT_POLICY : readPolicy(policy, ENV.policy),
    expiryWarningDays(env),
  );
}

/** The settings a settings item states (null: a table written before it had one: the defaults). */
export function settingsOfStored(
  stored: { policy: Record<string, unknown>; expiryWarningDays: number } | null,
): GateSettings {
  if (!stored) return DEFAULT_GATE_SETTINGS;
  return gateSettings(policyOf(stored.policy, 'the settings item'), stored.expiryWarningDays);
}

/** The options a store writes status items with: these settings, and a clock in milliseconds. */
export function storeOptions(
  settings: GateSettings = DEFAULT_GATE_SETTINGS,
  clock: () => number = Date.now,
): { settings: GateSettings; settingsHash: string; clock: () => number } {
  return { settings, settingsHash: settings.hash, clock };
}
