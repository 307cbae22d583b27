import type { Check, ScanContext } from '../context.ts';
import type { Exchange } from '../http.ts';
import { propertiesOf, requestSchema, type ScanOperation } from '../spec.ts';
import { fix, status, OWASP } from './util.ts';

interface LoginOp {
  sop: ScanOperation;
  userField: string;
  passField: string;
  knownUser?: string;
}

/** The sign-in operation: the one a login recipe uses, else a public POST taking a password. */
export function findLogin(ctx: ScanContext): LoginOp | undefined {
  const fromRecipe = ctx.identities.find((i) => i.recipe && i.recipe.method === 'POST');
  const ops = ctx.ops.filter((s) => s.method === 'POST' && !s.secured);
  const sop =
    (fromRecipe && ops.find((s) => s.path === fromRecipe.recipe!.path)) ??
    ops.find(
      (s) =>
        !('201' in s.op.responses) &&
        Object.keys(propertiesOf(requestSchema(s.op))).some((k) => /pass(word)?$/i.test(k)),
    );
  if (!sop) return undefined;
  const props = Object.keys(propertiesOf(requestSchema(sop.op)));
  const passField = props.find((k) => /pass(word)?$|secret/i.test(k));
  const userField = props.find((k) => /user|login|email|name|account/i.test(k) && k !== passField);
  if (!passField || !userField) return undefined;
  const fields = ctx.identities.find(
    (i) => i.loginFields && typeof i.loginFields[userField] === 'string',
  )?.loginFields;
  // Prefer an account the scan registered itself (locking it harms nobody).
  const created = ctx.objects.find((o) => o.createdByScan && o.body && typeof o.body[userField] === 'string');
  const knownUser =
    (created?.body?.[userField] as string | undefined) ?? (fields?.[userField] as string | undefined);
  return { sop, userField, passField, ...(knownUser ? { knownUser } : {}) };
}

const normalise = (x: Exchange, names: string[]): string => {
  let t = x.response?.text ?? '';
  for (const n of names) t = t.split(n).join('<user>');
  return t.replace(/"(instance|timestamp|requestId|traceId|id)"\s*:\s*"[^"]*"/g, '"$1":""');
};

/** User enumeration: unknown account and wrong password must get the same answer. */
export const enumeration: Check = {
  id: 'user-enumeration',
  title: 'User enumeration on sign-in',
  owasp: 'API2:2023',
  cwe: 204,
  severity: 'medium',
  applicable: (ctx) => {
    const l = findLogin(ctx);
    return !l
      ? 'no sign-in operation found'
      : !l.knownUser
        ? 'no known account (add a login recipe)'
        : undefined;
  },
  async *run(ctx) {
    const l = findLogin(ctx)!;
    const unknown = `rampart-nobody-${ctx.tag}`;
    const wrong = `Wrong-${ctx.tag}-pw`;
    const known = await ctx.call(l.sop, { body: { [l.userField]: l.knownUser, [l.passField]: wrong } });
    const missing = await ctx.call(l.sop, { body: { [l.userField]: unknown, [l.passField]: wrong } });
    if (!known.response || !missing.response) return;
    const differs =
      status(known) !== status(missing) || normalise(known, [l.knownUser!]) !== normalise(missing, [unknown]);
    if (!differs) return;
    yield {
      operation: l.sop.key,
      title: 'Sign-in tells unknown accounts from wrong passwords',
      description: `A wrong password for an existing account got ${status(known)}, an unknown account got ${status(missing)}${status(known) === status(missing) ? ' with a different message' : ''}: account names can be harvested before guessing passwords.`,
      exchanges: [
        { x: known, note: `existing account, wrong password: ${status(known)}` },
        { x: missing, note: `unknown account: ${status(missing)}` },
      ],
      confidence: 'confirmed',
      remediation: fix(
        'Answer both cases identically (status, body, timing — verify a dummy hash for unknown users).',
        'brute-force',
        undefined,
        [OWASP + '0xa2-broken-authentication/'],
      ),
    };
  },
};

const BURST = 12;

/** Brute force: a bounded burst of wrong passwords must be throttled (429/423, Retry-After). */
export const bruteForce: Check = {
  id: 'brute-force',
  title: 'No brute-force protection on sign-in',
  owasp: 'API2:2023',
  cwe: 307,
  severity: 'medium',
  applicable: (ctx) => (findLogin(ctx) ? undefined : 'no sign-in operation found'),
  async *run(ctx) {
    const l = findLogin(ctx)!;
    // A scan-registered account, else a made-up one: never a real user's account.
    const created = ctx.objects.find(
      (o) => o.createdByScan && o.body && typeof o.body[l.userField] === 'string',
    );
    const user = (created?.body?.[l.userField] as string | undefined) ?? `rampart-nobody-${ctx.tag}`;
    const seen: Exchange[] = [];
    for (let i = 0; i < BURST; i++) {
      const x = await ctx.call(l.sop, {
        body: { [l.userField]: user, [l.passField]: `Wrong-${i}-${ctx.tag}` },
      });
      seen.push(x);
      const s = status(x);
      if (s === 429 || s === 423 || s === 503 || x.response?.headers['retry-after'] !== undefined) return;
      if (!x.response) return;
    }
    yield {
      operation: l.sop.key,
      title: 'Unlimited password guesses',
      description: `${BURST} wrong passwords in a row for one account were all answered (${[...new Set(seen.map(status))].join(', ')}) with no 429, lock-out or Retry-After: passwords can be guessed at full speed.`,
      exchanges: [
        { x: seen[0]!, note: 'first wrong password' },
        { x: seen[seen.length - 1]!, note: `attempt ${BURST}: still ${status(seen[seen.length - 1]!)}` },
      ],
      confidence: 'confirmed',
      details: {
        attempts: BURST,
        statuses: seen.map(status),
        account: created ? 'registered by the scan' : 'made up',
      },
      remediation: fix(
        'Limit failed sign-ins per account and per client (e.g. 5 per 15 minutes), answer 429 with Retry-After.',
        'brute-force',
        'x-rampart:\n  bruteForce: { per: username, limit: 5, window: 900 }',
        [OWASP + '0xa2-broken-authentication/'],
      ),
    };
  },
};
