/** Every audit rule, in report order (by OWASP category). */
import type { Rule } from '../types.ts';
import { adminWithoutRole, objectIdWithoutOwner } from './authorization.ts';
import {
  authEnumeration,
  authFlowUnthrottled,
  credentialsInUrl,
  insecureScheme,
  noSecurity,
} from './authentication.ts';
import { sensitiveFlowUnlimited, ssrfInput, thirdPartyUnvalidated } from './flows.ts';
import { deprecatedWithoutSunset, internalOperation } from './inventory.ts';
import { fileParameter, httpServer, missingErrorResponses, verboseErrorSchema } from './misconfiguration.ts';
import { massAssignment, openResponse, sensitiveResponse } from './properties.ts';
import { redosPattern, unboundedInput } from './resources.ts';
import { xRampartInvalid } from './x-rampart.ts';

export const RULES: readonly Rule[] = [
  objectIdWithoutOwner,
  noSecurity,
  insecureScheme,
  credentialsInUrl,
  authFlowUnthrottled,
  authEnumeration,
  massAssignment,
  sensitiveResponse,
  openResponse,
  unboundedInput,
  redosPattern,
  adminWithoutRole,
  sensitiveFlowUnlimited,
  ssrfInput,
  httpServer,
  verboseErrorSchema,
  fileParameter,
  missingErrorResponses,
  xRampartInvalid,
  internalOperation,
  deprecatedWithoutSunset,
  thirdPartyUnvalidated,
];
