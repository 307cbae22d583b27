/**
 * Which of the lab's planted flaws (src/lab/flaws.json) an OpenAPI document can reveal,
 * and the audit rule that must flag it on the flaw's operation. The rest need traffic:
 * the scanner checks named in `confirm`. docs/audit.md mirrors this table.
 */
export type FlawMapping = { rule: string } | { notRevealable: string; confirm: string };

export const LAB_FLAW_MAP: Record<string, FlawMapping> = {
  'bola-read-record': { rule: 'audit/object-id-without-owner' },
  'bola-write-record': { rule: 'audit/object-id-without-owner' },
  'jwt-alg-none': {
    notRevealable: 'which algorithms the server accepts is not in a contract',
    confirm: 'auth-jwt',
  },
  'jwt-weak-secret': { notRevealable: 'the signing key is not in a contract', confirm: 'auth-jwt' },
  'jwt-no-expiry': {
    notRevealable: 'whether exp is issued and required is runtime behaviour',
    confirm: 'auth-jwt',
  },
  'login-brute-force': { rule: 'audit/auth-flow-unthrottled' },
  'user-enumeration': { rule: 'audit/auth-enumeration' },
  'mass-assignment-role': { rule: 'audit/mass-assignment' },
  'user-data-exposure': { rule: 'audit/sensitive-response-property' },
  'doctor-directory-pii': { rule: 'audit/sensitive-response-property' },
  'unbounded-page-size': { rule: 'audit/unbounded-input' },
  'unbounded-body': { rule: 'audit/unbounded-input' },
  'redos-email': { rule: 'audit/redos-pattern' },
  'bfla-admin-users': { rule: 'audit/admin-without-role' },
  'bfla-create-coupon': { rule: 'audit/admin-without-role' },
  'coupon-replay': { rule: 'audit/sensitive-flow-unlimited' },
  'ssrf-avatar': { rule: 'audit/ssrf-input' },
  'sqli-record-search': {
    notRevealable: 'how the server builds SQL is not in a contract',
    confirm: 'injection',
  },
  'command-injection-labels': {
    notRevealable: 'whether a shell runs is not in a contract',
    confirm: 'injection',
  },
  'path-traversal-documents': { rule: 'audit/file-parameter-unconstrained' },
  'verbose-errors': { rule: 'audit/verbose-error-schema' },
  'cors-any-origin': { notRevealable: 'CORS headers are not part of an OpenAPI document', confirm: 'cors' },
  'missing-security-headers': {
    notRevealable: 'response headers the server adds are not in the contract',
    confirm: 'security-headers',
  },
  'v1-unauthenticated-users': { rule: 'audit/no-security' },
  'debug-endpoint': {
    notRevealable: 'the endpoint is in no document — that is the flaw',
    confirm: 'inventory',
  },
  'insurer-answer-trusted': { rule: 'audit/third-party-unvalidated' },
};
