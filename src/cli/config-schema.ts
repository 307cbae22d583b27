import { Type, type Static } from '@sinclair/typebox';
import { configSchema as gatewayConfigSchema } from '../gateway/config.ts';
import { identityConfigSchema } from '../identity/index.ts';
import { scansSchema } from '../scanner/schedule.ts';
import { countersConfigSchema } from '../store/counters/index.ts';
import { monitorConfigSchema } from '../monitor/config.ts';
import { postureConfigSchema } from '../posture/config.ts';

/**
 * The whole rampart.yaml: the gateway's sections plus the feature sections the CLI
 * composes (the identity service, the monitor). Composed here because features never import each
 * other (docs/architecture.md). `identity:` present = the identity service is on.
 */
export const configSchema = Type.Object(
  {
    ...gatewayConfigSchema.properties,
    counters: countersConfigSchema,
    // Present = on: the section has no default of its own here, only its fields do.
    identity: Type.Optional(
      Type.Object(identityConfigSchema.properties, {
        additionalProperties: false,
        description:
          'Built-in identity service (users, MFA, tokens, API keys), served under its prefix. Omit to turn it off. See docs/identity.md.',
      }),
    ),
    // Present = scheduled scans on (run by rampart start).
    scans: Type.Optional(scansSchema),
    monitor: monitorConfigSchema,
    posture: postureConfigSchema,
  },
  { additionalProperties: false, $id: 'https://rampart.dev/schemas/rampart.json', title: 'rampart.yaml' },
);

export type RampartFileConfig = Static<typeof configSchema>;
