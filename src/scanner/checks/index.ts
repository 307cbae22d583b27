import type { Check } from '../context.ts';
import { bfla, unauthenticated } from './bfla.ts';
import { bola } from './bola.ts';
import { conformance } from './conformance.ts';
import { businessFlow } from './business-flow.ts';
import { exposure } from './exposure.ts';
import { injection } from './injection.ts';
import { inventory } from './inventory.ts';
import { jwt } from './jwt.ts';
import { bruteForce, enumeration } from './login.ts';
import { massAssignment } from './mass-assignment.ts';
import { cors, headers, methods, verboseErrors } from './misconfig.ts';
import { redos } from './redos.ts';
import { bodySize, pageSize } from './resource.ts';
import { ssrf } from './ssrf.ts';

/**
 * Every check, in the order they run. Passive and read-only checks first; checks that
 * change the identities' own state (mass assignment) and heavy ones (body size, ReDoS)
 * last, so they cannot disturb the others.
 */
export const allChecks: readonly Check[] = [
  exposure,
  headers,
  cors,
  unauthenticated,
  bola,
  bfla,
  jwt,
  enumeration,
  pageSize,
  inventory,
  injection,
  verboseErrors,
  ssrf,
  businessFlow,
  methods,
  conformance,
  massAssignment,
  bruteForce,
  bodySize,
  redos,
];
