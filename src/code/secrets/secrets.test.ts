/**
 * Secret rules. Token-shaped values are assembled at run time from random bytes, so the
 * repository holds no secret-looking literal; every test also asserts the value never
 * appears in the output (masking).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { entropy, isPlaceholder, mask, scanSecrets, secretContext } from './scan.ts';

const alnum = (n: number): string => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
};
/** Random, with a digit and a letter so it never reads as a word. */
const mixed = (n: number): string => alnum(n - 2) + '9z';
const upper = (n: number): string =>
  [...randomBytes(n)].map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');
const b64url = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');

const PROVIDERS: Array<[string, () => string]> = [
  ['aws-access-key', () => 'AKIA' + upper(16)],
  ['gcp-api-key', () => 'AIza' + alnum(35)],
  ['stripe-key', () => 'sk_live_' + alnum(24)],
  ['slack-token', () => 'xoxb-' + alnum(12) + '-' + alnum(24)],
  [
    'slack-webhook',
    () => 'https://hooks.slack.com/services/T' + upper(8) + '/B' + upper(8) + '/' + alnum(24),
  ],
  ['webhook-url', () => 'https://discord.com/api/webhooks/1234567890/' + alnum(60)],
  ['github-token', () => 'ghp_' + alnum(36)],
  ['gitlab-token', () => 'glpat-' + alnum(20)],
  ['npm-token', () => 'npm_' + alnum(36)],
  ['azure-client-secret', () => alnum(3) + '8Q~' + alnum(34)],
  [
    'jwt',
    () => `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'u1', name: alnum(8) })}.${alnum(43)}`,
  ],
];

describe('provider-specific secrets', () => {
  it.each(PROVIDERS)('%s is found, located and masked', (name, make) => {
    const value = make();
    const text = `// config\nexport const settings = {\n  upstream: '${value}',\n};\n`;
    const hits = scanSecrets('src/config.ts', text);
    expect(hits.map((h) => h.rule.id)).toEqual([`code/secret-${name}`]);
    expect(hits[0]!.line).toBe(3);
    expect(hits[0]!.column).toBe(text.split('\n')[2]!.indexOf(value) + 1);
    expect(JSON.stringify(hits)).not.toContain(value);
    expect(JSON.stringify(hits)).not.toContain(value.slice(8));
  });
  it('AWS secret keys are found next to their name', () => {
    const value = alnum(30) + '/+' + alnum(8);
    const hits = scanSecrets('deploy.sh', `export AWS_SECRET_ACCESS_KEY=${value}\n`);
    expect(hits.map((h) => h.rule.id)).toContain('code/secret-aws-secret-key');
    expect(JSON.stringify(hits)).not.toContain(value);
  });
  it('private keys are found (header only is shown)', () => {
    const body = randomBytes(64).toString('base64');
    const hits = scanSecrets(
      'k.js',
      `const key = "-----BEGIN RSA PRIVATE KEY-----\\n${body}\\n-----END RSA PRIVATE KEY-----";`,
    );
    expect(hits.map((h) => h.rule.id)).toEqual(['code/secret-private-key']);
    expect(JSON.stringify(hits)).not.toContain(body.slice(0, 20));
  });
  it('database URLs with a password are found with the password masked; ${VAR} passwords are not', () => {
    const pw = alnum(16);
    const hits = scanSecrets('db.ts', `const url = 'postgres://app:${pw}@db.internal:5432/shop';`);
    expect(hits.map((h) => h.rule.id)).toEqual(['code/secret-database-url']);
    expect(hits[0]!.snippet).toMatch(/^postgres:\/\/app:.*\(16 chars\)@db\.internal:5432\/shop$/);
    expect(JSON.stringify(hits)).not.toContain(pw);
    expect(scanSecrets('db.ts', "const url = 'postgres://app:${DB_PASSWORD}@db/shop';")).toEqual([]);
    expect(scanSecrets('db.ts', "const url = 'postgres://app:changeme@db/shop';")).toEqual([]);
  });
  it('documented example values and a JWT-looking string without a header are ignored', () => {
    expect(scanSecrets('a.md', 'AKIAIOSFODNN7EXAMPLE')).toEqual([]);
    expect(scanSecrets('a.js', `x = 'eyJ${alnum(12)}.eyJ${alnum(12)}.${alnum(12)}'`)).toEqual([]);
  });
  it('a provider token in a test file is reported low and tentative', () => {
    const hits = scanSecrets('test/api.test.ts', `const t = 'ghp_${alnum(36)}';`);
    expect(hits.map((h) => [h.severity, h.confidence])).toEqual([['low', 'tentative']]);
  });
});

describe('generic assignments', () => {
  it('a random-looking password literal is found', () => {
    const value = mixed(20);
    for (const line of [`password = '${value}'`, `"client_secret": "${value}"`, `apiKey: \`${value}\``]) {
      const hits = scanSecrets('src/app.js', line);
      expect(
        hits.map((h) => h.rule.id),
        line,
      ).toEqual(['code/secret-generic']);
      expect(JSON.stringify(hits)).not.toContain(value);
    }
  });
  it.each([
    ["password = 'changeme'"],
    ["password: '${DB_PASSWORD}'"],
    ["secret = '{{ vault_secret }}'"],
    ["token: 'your-token-here'"],
    ["password: 'Password'"],
    ["apiKey: 'xxxxxxxxxxxxxxxx'"],
    ["secret: 'aaaaaaaaaaaa'"],
    ["passwordField: 'current-password'"],
    ["tokenUrl: 'https://login.example.com/oauth/token'"],
    ["secretMessage: 'Please enter your secret to continue'"],
    ['password = process.env.DB_PASSWORD'],
  ])('%s is not a secret', (line) => {
    expect(scanSecrets('src/app.js', line)).toEqual([]);
  });
  it('test fixtures and example files are not generic secrets', () => {
    const line = `password = '${mixed(20)}'`;
    expect(scanSecrets('test/fixtures/users.js', line, secretContext('test/fixtures/users.js'))).toEqual([]);
    expect(scanSecrets('src/a.spec.ts', line, secretContext('src/a.spec.ts'))).toEqual([]);
  });
  it('.env files: secret-named keys are examined; .env.example is not', () => {
    const value = mixed(12);
    const env = `PORT=3000\nDB_PASSWORD=${value}\nSESSION_SECRET=changeme\n`;
    const hits = scanSecrets('.env', env, secretContext('.env'));
    expect(hits.map((h) => [h.rule.id, h.line])).toEqual([['code/secret-generic', 2]]);
    expect(JSON.stringify(hits)).not.toContain(value);
    expect(scanSecrets('.env.example', env, secretContext('.env.example'))).toEqual([]);
  });
});

describe('helpers', () => {
  it('mask shows at most a quarter and the length', () => {
    expect(mask('abcdefghijklmnop')).toBe('abcd************ (16 chars)');
    expect(mask('abc')).toBe('*** (3 chars)');
  });
  it('entropy separates random from repetitive', () => {
    expect(entropy('aaaaaaaa')).toBe(0);
    expect(entropy(alnum(32))).toBeGreaterThan(4);
  });
  it('placeholders', () => {
    expect(isPlaceholder('<your-api-key>')).toBe(true);
    expect(isPlaceholder(alnum(20))).toBe(false);
  });
});
