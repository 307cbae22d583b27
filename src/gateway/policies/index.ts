import { Kind, Type, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { XRampartSpec } from '../../core/openapi.ts';
import type { Policy, PolicyDefinition, PolicyServices, XRampartKey } from '../policy.ts';
import { authenticate } from './authenticate/index.ts';
import { bruteForce } from './brute-force/index.ts';
import { cors } from './cors/index.ts';
import { mfa } from './mfa/index.ts';
import { owner } from './owner/index.ts';
import { propertyAccess } from './property-access/index.ts';
import { flowLimit } from './flow-limit/index.ts';
import { rateLimit } from './rate-limit/index.ts';
import { requestId } from './request-id/index.ts';
import { requestLimits } from './request-limits/index.ts';
import { roles } from './roles/index.ts';
import { securityHeaders } from './security-headers/index.ts';
import { ssrfGuard } from './ssrf-guard/index.ts';
import { injectionGuard } from './injection-guard/index.ts';
import { minimiseResponse } from './minimise-response/index.ts';
import { validateResponse } from './validate-response/index.ts';
import { transport } from './transport/index.ts';
import { uniformFailure } from './uniform-failure/index.ts';
import { validateRequest } from './validate-request/index.ts';
import { versions } from './versions/index.ts';

/**
 * Every policy kind. Each is on unless its definition says `enabledByDefault: false`;
 * turn one off with `policies: { <name>: { enabled: false } }`.
 */
export const policyDefinitions: readonly PolicyDefinition[] = [
  securityHeaders,
  requestId,
  cors,
  transport,
  requestLimits,
  versions,
  authenticate,
  mfa,
  bruteForce,
  uniformFailure,
  roles,
  owner,
  propertyAccess,
  rateLimit,
  flowLimit,
  validateRequest,
  injectionGuard,
  ssrfGuard,
  minimiseResponse,
  validateResponse,
];

/**
 * `x-rampart` keys of policies that are not built yet: their syntax is public already
 * (the lab's documents use it), so documents are validated against it now. When a policy
 * lands, its definition's `xRampart` takes the same object from its x-rampart.ts and the
 * entry here goes.
 */
export const pendingXRampart: Readonly<Record<string, PolicyDefinition['xRampart']>> = {};

/** One `x-rampart` key: its schema, its cross-reference check, and the policy that reads it. */
export interface XRampartEntry extends XRampartSpec {
  schema: TSchema;
  policy: string;
}

function isKey(v: TSchema | XRampartKey): v is XRampartKey {
  return !(Kind in v) && 'schema' in v;
}

/**
 * Every `x-rampart` key a policy reads (built and pending ones), for the OpenAPI loader.
 * A key read by two policies must be declared with the same schema object.
 */
export function xRampartKeys(
  definitions: readonly PolicyDefinition[] = policyDefinitions,
  pending: Readonly<Record<string, PolicyDefinition['xRampart']>> = pendingXRampart,
): Map<string, XRampartEntry> {
  const out = new Map<string, XRampartEntry>();
  const add = (policy: string, keys: PolicyDefinition['xRampart']) => {
    for (const [key, v] of Object.entries(keys ?? {})) {
      const entry: XRampartEntry = isKey(v)
        ? {
            schema: v.schema,
            policy,
            ...(v.check ? { check: v.check as XRampartSpec['check'] } : {}),
            ...(v.at ? { at: v.at } : {}),
          }
        : { schema: v, policy };
      const prev = out.get(key);
      if (prev && prev.schema !== entry.schema)
        throw new Error(`x-rampart key '${key}' is declared by both ${prev.policy} and ${policy}`);
      if (!prev) out.set(key, entry);
    }
  };
  for (const d of definitions) add(d.name, d.xRampart);
  for (const [policy, keys] of Object.entries(pending)) add(policy, keys);
  return out;
}

/** The options object of one policy in rampart.yaml: `enabled` plus its own schema's fields. */
function sectionSchema(d: PolicyDefinition): TObject {
  const { properties, ...rest } = d.schema;
  const on = d.enabledByDefault ?? true;
  return Type.Object(
    {
      enabled: Type.Boolean({
        description: `Turn the policy ${on ? 'off' : 'on'} (${on ? 'on' : 'off'} by default).`,
        default: on,
      }),
      ...properties,
    },
    {
      ...(typeof rest.description === 'string' ? { description: rest.description } : {}),
      additionalProperties: false,
      default: {},
    },
  );
}

/**
 * The `policies:` section of rampart.yaml, built from the registry: one closed object per
 * policy, so the config loader reports an unknown policy or option with its position and a
 * did-you-mean, and rampart.schema.json lets editors complete every option.
 */
export function policiesSchema(definitions: readonly PolicyDefinition[] = policyDefinitions): TObject {
  return Type.Object(Object.fromEntries(definitions.map((d) => [d.name, sectionSchema(d)])), {
    additionalProperties: false,
    default: {},
    description: 'Per-policy settings by policy name (see docs/policies.md), e.g. cors: { origins: [...] }.',
  });
}

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
 * Builds the enabled policies from the `policies:` section. The config loader has already
 * validated it (with positions); options are checked again here against each policy's
 * schema (defaults applied) so a config built in code cannot bypass the schema.
 */
export function buildPolicies(
  config: Record<string, unknown>,
  services: PolicyServices,
  definitions: readonly PolicyDefinition[] = policyDefinitions,
): Policy[] {
  const errors: PolicyConfigError[] = [];
  const known = new Set(definitions.map((d) => d.name));
  for (const name of Object.keys(config)) {
    if (!known.has(name))
      errors.push(
        new PolicyConfigError(`/policies/${name}`, `unknown policy; known: ${[...known].join(', ')}`),
      );
  }
  const built: Policy[] = [];
  for (const definition of definitions) {
    const name = definition.name;
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
    if (!(enabled ?? definition.enabledByDefault ?? true)) continue;
    const value = Value.Default(definition.schema, Value.Clone(opts));
    const problems = [...Value.Errors(definition.schema, value)];
    if (problems.length > 0) {
      for (const p of problems.slice(0, 10))
        errors.push(new PolicyConfigError(`/policies/${name}${p.path}`, p.message));
      continue;
    }
    try {
      built.push({ name, priority: definition.priority, hooks: definition.create(value as never, services) });
    } catch (err) {
      errors.push(new PolicyConfigError(`/policies/${name}`, (err as Error).message));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join('\n'));
  return built;
}

/**
 * What `create()` itself refuses (an issuer configured twice, a key source over plain
 * HTTP, …), found by building every policy once with inert services and closing it again,
 * so `rampart check` and config loading report these with a position too, not only start.
 * Returns the pointer segments and message of each problem.
 */
export function policyBuildErrors(
  config: Record<string, unknown>,
  services: PolicyServices,
  definitions: readonly PolicyDefinition[] = policyDefinitions,
): Array<{ segments: string[]; message: string }> {
  let built: Policy[];
  try {
    built = buildPolicies(config, services, definitions);
  } catch (err) {
    const list = err instanceof AggregateError ? err.errors : [err];
    return list.map((e: unknown) =>
      e instanceof PolicyConfigError
        ? { segments: e.path.split('/').slice(1), message: e.message.slice(e.path.length + 2) }
        : { segments: ['policies'], message: (e as Error).message },
    );
  }
  for (const p of built) void p.hooks.close?.();
  return [];
}
