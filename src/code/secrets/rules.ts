/**
 * Secret rules. Written for Rampart; the provider token formats were learned from
 * gitleaks' rule set (config/gitleaks.toml) and the providers' own documentation —
 * see docs/code-scan.md for why gitleaks and not secretlint.
 */
import type { CodeRule } from '../rules.ts';

const base = {
  owasp: 'API8:2023',
  cwe: 798,
  references: ['https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html'],
} as const;

function secretRule(name: string, title: string, severity: CodeRule['severity'], fix?: string): CodeRule {
  return {
    ...base,
    references: [...base.references],
    id: `code/secret-${name}`,
    title,
    severity,
    description:
      'A credential committed to source is readable by everyone with the repository, its forks, its CI logs and its history.',
    fix:
      fix ??
      'Revoke and rotate the credential now (it is in the history), then load it from the environment or a secrets manager.',
  };
}

export interface ProviderPattern {
  rule: CodeRule;
  /** Group 1 (or the whole match) is the secret. Global flag required. */
  re: RegExp;
  /** Extra check on the captured value; false drops the match. */
  accept?: (value: string, line: string) => boolean;
}

const isJwt = (v: string): boolean => {
  try {
    const header = JSON.parse(Buffer.from(v.split('.')[0]!, 'base64url').toString('utf8')) as {
      alg?: unknown;
    };
    return typeof header.alg === 'string';
  } catch {
    return false;
  }
};

export const PROVIDER_PATTERNS: ProviderPattern[] = [
  {
    rule: secretRule('aws-access-key', 'AWS access key id', 'high'),
    re: /\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b/g,
  },
  {
    rule: secretRule('aws-secret-key', 'AWS secret access key', 'critical'),
    re: /aws.{0,20}?secret.{0,20}?['"=:\s]\s*['"]?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
  },
  {
    rule: secretRule('gcp-api-key', 'Google Cloud API key', 'high'),
    re: /\b(AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])/g,
  },
  {
    rule: secretRule('azure-storage-key', 'Azure storage account key', 'critical'),
    re: /AccountKey=([A-Za-z0-9+/]{86}==)/g,
  },
  {
    rule: secretRule('azure-client-secret', 'Azure AD client secret', 'high'),
    re: /(?<![A-Za-z0-9_~.-])([A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])/g,
  },
  {
    rule: secretRule('stripe-key', 'Stripe secret or restricted key', 'critical'),
    re: /\b((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,99})\b/g,
  },
  { rule: secretRule('slack-token', 'Slack token', 'high'), re: /\b(xox[abposr]-[0-9A-Za-z-]{10,250})\b/g },
  {
    rule: secretRule('slack-webhook', 'Slack incoming-webhook URL', 'medium'),
    re: /(https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/]{20,})/g,
  },
  {
    rule: secretRule('webhook-url', 'Discord or Microsoft Teams webhook URL', 'medium'),
    re: /(https:\/\/(?:(?:ptb\.|canary\.)?discord(?:app)?\.com\/api\/webhooks\/\d+\/[\w-]{20,}|[\w-]+\.webhook\.office\.com\/webhookb2\/[\w@/-]{20,}))/g,
  },
  {
    rule: secretRule('github-token', 'GitHub token', 'critical'),
    re: /\b((?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{82})\b/g,
  },
  {
    rule: secretRule('gitlab-token', 'GitLab token', 'critical'),
    re: /\b(gl(?:pat|dt|rt|cbt|ptt)-[0-9A-Za-z_-]{20,})\b/g,
  },
  { rule: secretRule('npm-token', 'npm access token', 'critical'), re: /\b(npm_[0-9A-Za-z]{36})\b/g },
  {
    rule: secretRule(
      'private-key',
      'Private key',
      'critical',
      'Remove the key, revoke it (it is in the history) and load keys from a file outside the repository or a key store.',
    ),
    re: /(-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)(?=[\s\\n"'`]*[A-Za-z0-9+/=]{16})/g,
  },
  {
    rule: secretRule(
      'jwt',
      'JSON Web Token',
      'medium',
      'Do not commit live tokens; issue them at run time. If this one is valid, revoke it (rotate the signing key).',
    ),
    re: /\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})(?![A-Za-z0-9_-])/g,
    accept: isJwt,
  },
  {
    rule: secretRule('database-url', 'Database URL with a password', 'high'),
    re: /\b((?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver):\/\/[^\s:@/'"`]+:([^\s@/'"`]+)@[^\s'"`]+)/g,
  },
];

export const GENERIC_RULE = secretRule('generic', 'Hardcoded password or secret', 'high');
export const SECRET_RULES: CodeRule[] = [...PROVIDER_PATTERNS.map((p) => p.rule), GENERIC_RULE];
