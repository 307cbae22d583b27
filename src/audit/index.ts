/**
 * The static audit of OpenAPI documents (docs/audit.md): rules as data plus small
 * functions (rules/), the same Finding model and reporters as the scanner.
 */
export { audit, checkInfo, operationName, rankFixes, type AuditOptions, type AuditResult } from './engine.ts';
export {
  AuditInputError,
  DEFAULT_MAX_BYTES,
  loadAuditDocument,
  serverBase,
  type LoadOptions,
} from './load.ts';
export { RULES } from './rules/index.ts';
export { CATEGORY_WEIGHT, SEVERITY_WEIGHT, score, topFixes, type Score } from './score.ts';
export { suggestedPolicies } from './suggest.ts';
export type { AuditDocument, GatewayFacts, Hit, OperationContext, Rule } from './types.ts';
