/**
 * The breaking-change rules of `rampart diff`, as data. Levels follow oasdiff where it
 * has the rule (its id in `oasdiff`), and the list where it is stricter
 * (removing a request parameter is breaking here: a client that sends it to a server
 * that closed its contract is refused).
 *
 * - `breaking`: a client written against the old document can fail against the new one.
 * - `warning`: may break some clients (e.g. a response enum gains a value).
 * - `info`: additive or cosmetic.
 */
export type ChangeLevel = 'breaking' | 'warning' | 'info';

export interface DiffRule {
  level: ChangeLevel;
  /** One line for docs and `--format markdown`. */
  description: string;
  /** The oasdiff check id this rule matches, when there is one. */
  oasdiff?: string;
  /** Additive changes suggest a minor version bump; other info changes a patch. */
  additive?: true;
}

export const DIFF_RULES = {
  'path-removed': {
    level: 'breaking',
    description: 'A path and all its operations were removed.',
    oasdiff: 'api-path-removed-without-deprecation',
  },
  'operation-removed': {
    level: 'breaking',
    description: 'An operation was removed without being deprecated first.',
    oasdiff: 'api-removed-without-deprecation',
  },
  'deprecated-operation-removed': {
    level: 'warning',
    description: 'A deprecated operation was removed.',
    oasdiff: 'api-removed-before-sunset',
  },
  'path-added': {
    level: 'info',
    description: 'A path was added.',
    oasdiff: 'endpoint-added',
    additive: true,
  },
  'operation-added': {
    level: 'info',
    description: 'An operation was added.',
    oasdiff: 'endpoint-added',
    additive: true,
  },
  'operation-deprecated': {
    level: 'info',
    description: 'An operation was marked deprecated.',
    oasdiff: 'endpoint-deprecated',
  },
  'operation-reactivated': {
    level: 'info',
    description: 'An operation is no longer deprecated.',
    oasdiff: 'endpoint-reactivated',
  },
  'operation-id-changed': {
    level: 'warning',
    description: 'The operationId changed (generated SDKs rename the method).',
    oasdiff: 'api-operation-id-removed',
  },
  'path-parameter-renamed': {
    level: 'info',
    description: 'A path parameter was renamed (the URL clients send is unchanged).',
  },
  'request-parameter-removed': {
    level: 'breaking',
    description: 'A request parameter was removed.',
    oasdiff: 'request-parameter-removed',
  },
  'new-required-request-parameter': {
    level: 'breaking',
    description: 'A new required request parameter was added.',
    oasdiff: 'new-required-request-parameter',
  },
  'new-optional-request-parameter': {
    level: 'info',
    description: 'A new optional request parameter was added.',
    oasdiff: 'new-optional-request-parameter',
    additive: true,
  },
  'request-parameter-became-required': {
    level: 'breaking',
    description: 'An optional request parameter became required.',
    oasdiff: 'request-parameter-became-required',
  },
  'request-parameter-became-optional': {
    level: 'info',
    description: 'A required request parameter became optional.',
    oasdiff: 'request-parameter-became-optional',
  },
  'request-body-added-required': {
    level: 'breaking',
    description: 'A required request body was added.',
    oasdiff: 'request-body-became-required',
  },
  'request-body-added-optional': {
    level: 'info',
    description: 'An optional request body was added.',
    additive: true,
  },
  'request-body-became-required': {
    level: 'breaking',
    description: 'An optional request body became required.',
    oasdiff: 'request-body-became-required',
  },
  'request-body-removed': {
    level: 'warning',
    description: 'The request body was removed (clients that send one may be refused).',
  },
  'request-media-type-removed': {
    level: 'breaking',
    description: 'A request media type is no longer accepted.',
    oasdiff: 'request-body-media-type-removed',
  },
  'request-media-type-added': {
    level: 'info',
    description: 'A request media type was added.',
    oasdiff: 'request-body-media-type-added',
    additive: true,
  },
  'new-required-request-property': {
    level: 'breaking',
    description: 'A new required request body property was added.',
    oasdiff: 'new-required-request-property',
  },
  'new-optional-request-property': {
    level: 'info',
    description: 'A new optional request body property was added.',
    oasdiff: 'new-optional-request-property',
    additive: true,
  },
  'request-property-became-required': {
    level: 'breaking',
    description: 'An optional request property became required.',
    oasdiff: 'request-property-became-required',
  },
  'request-property-removed': {
    level: 'breaking',
    description: 'A request property was removed from a closed schema (sending it is now refused).',
    oasdiff: 'request-property-removed',
  },
  'request-property-removed-open': {
    level: 'warning',
    description: 'A request property was removed (the schema still allows extra properties).',
    oasdiff: 'request-property-removed',
  },
  'request-type-narrowed': {
    level: 'breaking',
    description: 'A request value accepts fewer types than before.',
    oasdiff: 'request-property-type-changed',
  },
  'request-type-widened': {
    level: 'info',
    description: 'A request value accepts more types than before.',
  },
  'request-enum-value-removed': {
    level: 'breaking',
    description: 'A request enum lost a value (or an enum was added).',
    oasdiff: 'request-property-enum-value-removed',
  },
  'request-enum-value-added': {
    level: 'info',
    description: 'A request enum gained a value (or lost its enum).',
    oasdiff: 'request-property-enum-value-added',
  },
  'request-format-changed': {
    level: 'breaking',
    description: 'A request value has a new or different format.',
    oasdiff: 'request-property-format-changed',
  },
  'request-bound-narrowed': {
    level: 'breaking',
    description: 'A request bound is stricter (maxLength, maximum, minimum, maxItems, pattern …).',
    oasdiff: 'request-property-max-length-decreased',
  },
  'request-bound-widened': {
    level: 'info',
    description: 'A request bound is looser.',
    oasdiff: 'request-property-max-length-increased',
  },
  'request-additional-properties-closed': {
    level: 'warning',
    description: 'A request object no longer accepts undeclared properties.',
  },
  'response-status-removed': {
    level: 'breaking',
    description: 'A response status code was removed.',
    oasdiff: 'response-success-status-removed',
  },
  'response-status-added': {
    level: 'info',
    description: 'A response status code was added.',
    oasdiff: 'response-success-status-added',
    additive: true,
  },
  'response-media-type-removed': {
    level: 'breaking',
    description: 'A response media type was removed.',
    oasdiff: 'response-media-type-removed',
  },
  'response-media-type-added': {
    level: 'info',
    description: 'A response media type was added.',
    oasdiff: 'response-media-type-added',
    additive: true,
  },
  'response-property-removed': {
    level: 'breaking',
    description: 'A response property was removed.',
    oasdiff: 'response-property-removed',
  },
  'response-property-became-optional': {
    level: 'breaking',
    description: 'A required response property became optional (clients may rely on it).',
    oasdiff: 'response-required-property-became-not-required',
  },
  'response-property-added': {
    level: 'info',
    description: 'A response property was added.',
    oasdiff: 'response-optional-property-added',
    additive: true,
  },
  'response-type-changed': {
    level: 'breaking',
    description: 'A response value may now have a type it could not have before.',
    oasdiff: 'response-property-type-changed',
  },
  'response-became-nullable': {
    level: 'breaking',
    description: 'A response value may now be null.',
    oasdiff: 'response-property-became-nullable',
  },
  'response-enum-value-added': {
    level: 'warning',
    description: 'A response enum gained a value (clients with exhaustive switches break).',
    oasdiff: 'response-property-enum-value-added',
  },
  'response-enum-value-removed': {
    level: 'info',
    description: 'A response enum lost a value.',
    oasdiff: 'response-property-enum-value-removed',
  },
  'response-format-changed': {
    level: 'warning',
    description: 'A response value has a different or no format.',
    oasdiff: 'response-property-format-changed',
  },
  'response-bound-widened': {
    level: 'warning',
    description: 'A response bound is looser (longer strings, larger numbers, more items).',
    oasdiff: 'response-property-max-length-increased',
  },
  'response-bound-narrowed': {
    level: 'info',
    description: 'A response bound is stricter.',
  },
  'schema-alternatives-removed': {
    level: 'breaking',
    description: 'A request oneOf/anyOf lost alternatives.',
    oasdiff: 'request-body-one-of-removed',
  },
  'schema-alternatives-changed': {
    level: 'warning',
    description: 'A oneOf/anyOf changed its alternatives.',
  },
  'security-added': {
    level: 'breaking',
    description: 'A public operation now requires authentication.',
    oasdiff: 'api-security-added',
  },
  'security-changed': {
    level: 'breaking',
    description: 'The credentials or scopes an operation requires changed.',
    oasdiff: 'api-security-scope-added',
  },
  'security-removed': {
    level: 'warning',
    description: 'An operation no longer requires authentication (check that this is intended).',
    oasdiff: 'api-security-removed',
  },
  'security-relaxed': {
    level: 'info',
    description: 'An operation accepts more credential alternatives or fewer scopes.',
    oasdiff: 'api-security-scope-removed',
  },
} as const satisfies Record<string, DiffRule>;

export type DiffRuleId = keyof typeof DIFF_RULES;
