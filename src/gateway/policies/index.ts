import { Value } from '@sinclair/typebox/value';
import type { Policy, PolicyDefinition, PolicyServices } from '../policy.ts';
import { authenticate } from './authenticate/index.ts';
import { cors } from './cors/index.ts';
import { mfa } from './mfa/index.ts';
import { requestId } from './request-id/index.ts';
import { requestLimits } from './request-limits/index.ts';
import { securityHeaders } from './security-headers/index.ts';
import { transport } from './transport/index.ts';

/**
 * Every policy kind by name, with whether it is on when rampart.yaml does not mention
 * it. Turn one off with `policies: { <name>: { enabled: false } }`.
 */
export const policyRegistry: Record<string, { definition: PolicyDefinition; enabledByDefault: boolean }> = {
  'request-id': { definition: requestId as PolicyDefinition, enabledByDefault: true },
  'security-headers': { definition: securityHeaders as PolicyDefinition, enabledByDefault: true },
  cors: { definition: cors as PolicyDefinition, enabledByDefault: true },
  transport: { definition: transport as PolicyDefinition, enabledByDefault: true },
  'request-limits': { definition: requestLimits as PolicyDefinition, enabledByDefault: true },
  authenticate: { definition: authenticate as PolicyDefinition, enabledByDefault: true },
  mfa: { definition: mfa as PolicyDefinition, enabledByDefault: true },
};

export class PolicyConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'PolicyConfigError';
  }
}

/**
 * Builds the configured policies: options validated against each policy's schema
 * (defaults applied), unknown policy names refused — all errors reported at start.
 */
export function buildPolicies(config: Record<string, unknown>, services: PolicyServices): Policy[] {
  const errors: PolicyConfigError[] = [];
  for (const name of Object.keys(config)) {
    if (!policyRegistry[name])
      errors.push(
        new PolicyConfigError(
          `/policies/${name}`,
          `unknown policy; known: ${Object.keys(policyRegistry).join(', ')}`,
        ),
      );
  }
  const built: Policy[] = [];
  for (const [name, { definition, enabledByDefault }] of Object.entries(policyRegistry)) {
    const raw = config[name];
    if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
      errors.push(new PolicyConfigError(`/policies/${name}`, 'expected an object of settings'));
      continue;
    }
    const { enabled, ...opts } = (raw ?? {}) as Record<string, unknown>;
    if (enabled !== undefined && typeof enabled !== 'boolean') {
      errors.push(new PolicyConfigError(`/policies/${name}/enabled`, 'expected true or false'));
      continue;
    }
    if (!(enabled ?? enabledByDefault)) continue;
    const value = Value.Default(definition.schema, Value.Clone(opts));
    const problems = [...Value.Errors(definition.schema, value)];
    if (problems.length > 0) {
      for (const p of problems.slice(0, 10))
        errors.push(new PolicyConfigError(`/policies/${name}${p.path}`, p.message));
      continue;
    }
    try {
      built.push(definition.create(value as never, services));
    } catch (err) {
      errors.push(new PolicyConfigError(`/policies/${name}`, (err as Error).message));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join('\n'));
  return built;
}
