/**
 * Finds secrets in one file's text: provider formats first, then generic
 * `password = …` / `secret: …` assignments kept only when the value looks random
 * (Shannon entropy) and is not a placeholder, an environment reference or a test value.
 * Values are masked before they leave this module.
 */
import { lineCol, type RuleHit } from '../rules.ts';
import { GENERIC_RULE, PROVIDER_PATTERNS } from './rules.ts';

/** Bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Shows at most a quarter (≤ 4 characters) of a secret and its length. */
export function mask(value: string): string {
  const keep = Math.min(4, Math.floor(value.length / 4));
  return `${value.slice(0, keep)}${'*'.repeat(Math.min(12, value.length - keep))} (${value.length} chars)`;
}

const PLACEHOLDER =
  /^(?:changeme|change[-_]?me|changeit|password\d?|passw0rd|secret|pass|test\w*|example\w*|sample\w*|dummy\w*|fake\w*|placeholder|redacted|todo|none|null|undefined|true|false|admin|root|guest|user(?:name)?|default|mysecret|my[-_]?password|your[-_].*|<.*>|\*+|x+|\.+|-+)$/i;

/** A value that is a reference, not a literal: `${ENV}`, `{{ var }}`, `process.env.X`, `%s`, `$1`. */
function isReference(v: string): boolean {
  return /\$\{|\{\{|\$[A-Z_]|^%|process\.env|import\.meta|os\.environ|getenv|^env\(|<[a-z_-]+>/i.test(v);
}

export function isPlaceholder(v: string): boolean {
  const bare = v.replace(/^['"`]|['"`]$/g, '');
  return (
    PLACEHOLDER.test(bare) ||
    isReference(bare) ||
    /example|changeme|placeholder|dummy|redacted|xxxx|your[-_]?(?:key|secret|token|password)|^(.)\1+$/i.test(
      bare,
    )
  );
}

export interface SecretContext {
  /** A test file or fixture (relative to the scan root): generic assignments are not reported. */
  testPath: boolean;
  /** A `.env`-style file: every KEY=VALUE line whose key names a secret is examined. */
  envFile: boolean;
}

const TEST_PATH =
  /(?:^|\/)(?:tests?|__tests__|__mocks__|fixtures?|spec|mocks?|examples?)\/|\.(?:test|spec)\.[cm]?[jt]sx?$/i;
export function secretContext(relFile: string): SecretContext {
  const base = relFile.split('/').pop() ?? relFile;
  return {
    testPath: TEST_PATH.test(relFile),
    envFile: /^\.env(?:\.[\w-]+)?$/.test(base) && !/\.(?:example|sample|template|dist)$/.test(base),
  };
}

const SECRET_NAME = String.raw`[\w.-]*?(?:password|passwd|pwd|passphrase|secret|api[-_]?key|apikey|access[-_]?key|auth[-_]?token|access[-_]?token|refresh[-_]?token|client[-_]?secret|private[-_]?key|credentials?|token)`;
/** `name = 'value'`, `name: "value"`, `"name": "value"`, `NAME=value` (env). */
const ASSIGN = new RegExp(
  String.raw`(?<![\w$])['"]?(${SECRET_NAME})['"]?\s*(?::|=|:=|=>)\s*(?:['"\`])([^'"\`\n]{4,200})['"\`]`,
  'gi',
);
const ENV_LINE = new RegExp(
  String.raw`^\s*(?:export\s+)?(${SECRET_NAME}[\w]*)\s*=\s*['"]?([^'"\s#]{4,200})`,
  'gim',
);

function generic(text: string, ctx: SecretContext, covered: (o: number) => boolean, file: string): RuleHit[] {
  const out: RuleHit[] = [];
  const consider = (m: RegExpExecArray, env: boolean): void => {
    const name = m[1]!;
    const value = m[2]!;
    const at = m.index + m[0].lastIndexOf(value);
    if (covered(at)) return;
    if (isPlaceholder(value)) return;
    // Identifiers and words, not secrets: `password: 'Password'`, `token: 'access_token'`, a URL path, a header name.
    if (/^[a-z]+(?:[_-][a-z]+)*$/i.test(value) && value.length < 24) return;
    if (/^(?:https?:\/\/|\/|\.\/)/.test(value) && !/:[^/@]+@/.test(value)) return;
    if (/\s/.test(value) && value.split(/\s+/).length > 2) return; // a sentence (a message)
    const minEntropy = env ? 2.5 : 3.0;
    const h = entropy(value);
    if (value.length < 8 || h < minEntropy) return;
    const { line, column } = lineCol(text, at);
    out.push({
      rule: GENERIC_RULE,
      file,
      line,
      column,
      message: `${name} is assigned a literal that looks like a secret: ${mask(value)}`,
      snippet: `${name} = ${mask(value)}`,
      confidence: h >= 3.5 ? 'firm' : 'tentative',
      key: name,
      details: { name, entropy: Math.round(h * 100) / 100, length: value.length },
    });
  };
  if (!ctx.testPath) {
    for (const m of text.matchAll(ASSIGN)) consider(m, false);
    if (ctx.envFile) for (const m of text.matchAll(ENV_LINE)) consider(m, true);
  }
  return out;
}

export function scanSecrets(file: string, text: string, ctx: SecretContext = secretContext(file)): RuleHit[] {
  const hits: RuleHit[] = [];
  const spans: Array<[number, number]> = [];
  for (const p of PROVIDER_PATTERNS) {
    p.re.lastIndex = 0;
    for (const m of text.matchAll(p.re)) {
      const value = m[1] ?? m[0];
      const start = m.index + m[0].indexOf(value);
      const lineStart = text.lastIndexOf('\n', start) + 1;
      const lineEnd = text.indexOf('\n', start);
      const lineText = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
      if (p.accept && !p.accept(value, lineText)) continue;
      // Documented example values (AWS's AKIAIOSFODNN7EXAMPLE, …) and `${VAR}` passwords in URLs.
      if (/EXAMPLE/i.test(value)) continue;
      let shown = mask(value);
      let key = value.slice(0, 4);
      if (p.rule.id === 'code/secret-database-url') {
        const password = m[2]!;
        if (isPlaceholder(password) || password.length < 3) continue;
        shown = value.replace(`:${password}@`, `:${mask(password)}@`).replace(/\?.*$/, '');
        key = value.slice(0, value.indexOf(':'));
      }
      if (p.rule.id === 'code/secret-private-key') shown = value;
      spans.push([start, start + value.length]);
      const { line, column } = lineCol(text, start);
      const test = /_test_/.test(value) || ctx.testPath;
      hits.push({
        rule: p.rule,
        file,
        line,
        column,
        message: `${p.rule.title}: ${shown}`,
        snippet: shown,
        key,
        ...(test ? { severity: 'low' as const, confidence: 'tentative' as const } : {}),
        details: {
          masked: shown,
          length: value.length,
          ...(ctx.testPath ? { context: 'test or fixture path' } : {}),
        },
      });
    }
  }
  const covered = (o: number): boolean => spans.some(([a, b]) => o >= a && o < b);
  return [...hits, ...generic(text, ctx, covered, file)];
}
