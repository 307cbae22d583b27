import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Check, FindingDraft, ScanContext } from '../context.ts';
import type { Exchange } from '../http.ts';
import type { Identity } from '../identities.ts';
import type { ScanOperation } from '../spec.ts';
import { fix, ok, status, OWASP } from './util.ts';
import { JWT_WORDLIST } from './jwt-wordlist.ts';

const b64 = (v: unknown): string =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const HASH: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: string;
}

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    if (typeof header !== 'object' || typeof payload !== 'object' || !header || !payload) return undefined;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: parts[2]! };
  } catch {
    return undefined;
  }
}

export function signHs(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: string,
): string {
  const alg = String(header.alg);
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(HASH[alg] ?? 'sha256', key)
    .update(input)
    .digest('base64url')}`;
}

/** Tries the wordlist against an HS* token offline; the matching secret or undefined. */
export function crackHs(jwt: DecodedJwt, words: readonly string[] = JWT_WORDLIST): string | undefined {
  const hash = HASH[String(jwt.header.alg)];
  if (!hash) return undefined;
  const want = Buffer.from(jwt.signature, 'base64url');
  for (const w of words) {
    const got = createHmac(hash, w).update(jwt.signingInput).digest();
    if (got.length === want.length && timingSafeEqual(got, want)) return w;
  }
  return undefined;
}

/** A secured GET the identity reads successfully and an anonymous caller does not: where forged tokens are tried. */
async function probeFor(
  ctx: ScanContext,
  id: Identity,
): Promise<{ sop: ScanOperation; baseline: Exchange } | undefined> {
  for (const sop of ctx.ops.filter((s) => s.secured && s.method === 'GET' && !s.path.includes('{'))) {
    const seen = ctx.observed.get(sop.key)?.find((o) => o.identity === id.name && ok(o.x));
    if (!seen) continue;
    const anon = await ctx.call(sop, {});
    if (ok(anon)) continue;
    return { sop, baseline: seen.x };
  }
  return undefined;
}

const authHeader = (id: Identity, token: string): Record<string, string> => {
  const name = Object.keys(id.headers)[0] ?? 'Authorization';
  const value = Object.values(id.headers)[0] ?? '';
  return { [name]: value.includes(id.token!) ? value.replace(id.token!, token) : `Bearer ${token}` };
};

/**
 * Token checks on each identity's JWT: malformed, `alg: none`, stripped and tampered
 * signatures, a weak HMAC secret (bundled wordlist, cracked offline, then proven by a
 * forged token), expired tokens (signed with the cracked key), `kid` injection and
 * tokens that never expire.
 */
export const jwt: Check = {
  id: 'auth-jwt',
  title: 'Broken token authentication',
  owasp: 'API2:2023',
  cwe: 347,
  severity: 'critical',
  applicable: (ctx) =>
    ctx.identities.some((i) => i.token && decodeJwt(i.token)) ? undefined : 'no identity carries a JWT',
  async *run(ctx) {
    const id = ctx.identities.find((i) => i.token && decodeJwt(i.token))!;
    const tok = decodeJwt(id.token!)!;
    const probe = await probeFor(ctx, id);
    const loginOp = id.recipe
      ? ctx.ops.find(
          (s) =>
            s.method === id.recipe!.method &&
            new RegExp('^' + s.path.replace(/\{[^}]+\}/g, '[^/]+') + '$').test(id.recipe!.path),
        )
      : undefined;
    // Tokens that never expire (decoded, no request needed).
    const exp = tok.payload.exp;
    const lifetime =
      typeof exp === 'number'
        ? exp - (typeof tok.payload.iat === 'number' ? tok.payload.iat : Math.floor(Date.now() / 1000))
        : undefined;
    if (exp === undefined || (lifetime !== undefined && lifetime > 30 * 86400)) {
      const op = loginOp?.key ?? probe?.sop.key ?? 'token';
      yield {
        operation: op,
        key: 'no-exp',
        cwe: 613,
        severity: exp === undefined ? 'high' : 'medium',
        confidence: 'confirmed',
        title:
          exp === undefined
            ? 'Access tokens never expire (no exp claim)'
            : `Access tokens live ${Math.round(lifetime! / 86400)} days`,
        description: `The token issued to ${id.name}${loginOp ? ` by ${loginOp.key}` : ''} ${exp === undefined ? 'has no exp claim: a stolen token works forever' : 'expires only after ' + Math.round(lifetime! / 86400) + ' days'}. Claims present: ${Object.keys(tok.payload).join(', ')}.`,
        exchanges: id.loginExchange
          ? [{ x: id.loginExchange, note: `token claims: ${Object.keys(tok.payload).join(', ')} — no exp` }]
          : [],
        details: { claims: Object.keys(tok.payload), header: tok.header },
        remediation: fix(
          'Issue short-lived access tokens (exp = iat + minutes) and require exp when verifying (RFC 8725).',
          'authenticate',
          undefined,
          ['https://www.rfc-editor.org/rfc/rfc8725'],
        ),
      };
    }
    if (!probe) {
      ctx.note(
        `auth-jwt: no secured GET operation answers ${id.name} and refuses anonymous callers — forged tokens not tried`,
      );
      return;
    }
    const { sop } = probe;
    const attempt = async (token: string): Promise<Exchange> =>
      ctx.call(sop, { headers: authHeader(id, token) });
    const finding = (
      key: string,
      title: string,
      description: string,
      x: Exchange,
      extra: Partial<FindingDraft> = {},
    ): FindingDraft => ({
      operation: sop.key,
      key,
      title,
      description,
      exchanges: [
        { x: probe.baseline, note: `${id.name}'s genuine token: ${status(probe.baseline)}` },
        { x, note: `${key} token: ${status(x)}` },
      ],
      confidence: 'confirmed',
      remediation: fix(
        'Verify every token: signature with an algorithm allow-list (never none), a strong random key, and required exp/iat/sub (RFC 8725).',
        'authenticate',
        undefined,
        ['https://www.rfc-editor.org/rfc/rfc8725', OWASP + '0xa2-broken-authentication/'],
      ),
      ...extra,
    });
    const malformed = await attempt('rampart.malformed.token');
    if (ok(malformed))
      yield finding(
        'malformed',
        'A malformed token is accepted',
        `${sop.key} answered ${status(malformed)} to a bearer token that is not a JWT at all.`,
        malformed,
      );
    for (const alg of ['none', 'None', 'NONE']) {
      const x = await attempt(`${b64({ ...tok.header, alg })}.${b64(tok.payload)}.`);
      if (ok(x)) {
        yield finding(
          'alg-none',
          'Unsigned tokens (alg "none") are accepted',
          `A copy of ${id.name}'s token with header alg "${alg}" and no signature was accepted by ${sop.key} (${status(x)}): anyone can mint tokens for any subject.`,
          x,
        );
        break;
      }
    }
    const stripped = await attempt(`${tok.signingInput}.`);
    if (ok(stripped))
      yield finding(
        'signature-stripped',
        'Tokens without a signature are accepted',
        `${id.name}'s token with its signature removed was accepted (${status(stripped)}).`,
        stripped,
      );
    const flipped =
      tok.signature.length > 4
        ? tok.signature.slice(0, -4) + (tok.signature.endsWith('AAAA') ? 'BBBB' : 'AAAA')
        : '';
    const tampered = await attempt(`${tok.signingInput}.${flipped}`);
    if (ok(tampered))
      yield finding(
        'signature-unchecked',
        'Token signatures are not verified',
        `${id.name}'s token with a changed signature was accepted (${status(tampered)}).`,
        tampered,
      );
    const words = ctx.jwtWordlist.length ? [...JWT_WORDLIST, ...ctx.jwtWordlist] : JWT_WORDLIST;
    const secret = crackHs(tok, words);
    if (secret !== undefined) {
      const forged = signHs(tok.header, { ...tok.payload, iat: Math.floor(Date.now() / 1000) }, secret);
      const x = await attempt(forged);
      if (ok(x))
        yield finding(
          'weak-secret',
          `Tokens are signed with a guessable ${String(tok.header.alg)} secret`,
          `The HMAC key of ${id.name}'s token is in a ${words.length}-word list of common secrets (found offline, not shown); a token forged with it was accepted (${status(x)}), so anyone can sign tokens for any user.`,
          x,
          {
            cwe: 1391,
            details: { secretLength: secret.length, wordlistSize: words.length },
          },
        );
      const now = Math.floor(Date.now() / 1000);
      const expired = await attempt(
        signHs(tok.header, { ...tok.payload, iat: now - 7200, exp: now - 3600 }, secret),
      );
      if (ok(expired))
        yield finding(
          'expired',
          'Expired tokens are accepted',
          `A token signed with the same key whose exp passed an hour ago was accepted (${status(expired)}).`,
          expired,
          { cwe: 613 },
        );
    }
    // kid injection: a key id pointing at an empty file / a SQL literal, signed with the matching key.
    if (String(tok.header.alg).startsWith('HS')) {
      for (const [kid, key] of [
        ['../../../../../../../../dev/null', ''],
        ["x' UNION SELECT 'rampart-kid'-- ", 'rampart-kid'],
      ] as const) {
        const x = await attempt(signHs({ ...tok.header, kid }, tok.payload, key));
        if (ok(x)) {
          yield finding(
            'kid-injection',
            'The token key id (kid) is injectable',
            `A token whose kid is ${JSON.stringify(kid)}, signed with the key that kid yields, was accepted (${status(x)}).`,
            x,
            { cwe: 20 },
          );
          break;
        }
      }
    }
  },
};
