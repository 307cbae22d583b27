import { parseLifecycleDate } from '../core/lifecycle.ts';
import { silentLogger } from '../core/logger.ts';
import { systemClock } from '../core/clock.ts';
import { MemoryCounterStore } from '../store/counters/memory.ts';
import { policyBuildErrors } from '../gateway/policies/index.ts';
import { hmacSecretProblems } from '../gateway/policies/authenticate/hmac-issuer.ts';
import type { HmacIssuerOptions } from '../gateway/policies/authenticate/schema.ts';
import { limitRuleProblems } from '../gateway/policies/rate-limit/rules.ts';
import { ruleErrors } from '../monitor/index.ts';
import { scheduleErrors } from '../scanner/schedule.ts';
import type { RampartFileConfig } from './config-schema.ts';

/**
 * Rules for rampart.yaml that JSON Schema cannot say. Applied by both `rampart check` and
 * `rampart start` (cli/app.ts readConfig), so a config one accepts the other accepts too.
 */
/**
 * Unique API names and base paths, successors that exist, sunset not before deprecation,
 * and what the policies' own `create()` refuses (built once with inert services: no
 * identity, nothing started).
 */
export function crossFieldErrors(config: RampartFileConfig): Array<{ segments: string[]; message: string }> {
  const out: Array<{ segments: string[]; message: string }> = [];
  const names = new Map<string, number>();
  const bases = new Map<string, string>();
  config.apis.forEach((api, i) => {
    const first = names.get(api.name);
    if (first !== undefined)
      out.push({
        segments: ['apis', String(i), 'name'],
        message: `duplicate API name '${api.name}' (also /apis/${first})`,
      });
    else names.set(api.name, i);
    const own = new Set(api.versions.map((v) => v.base));
    api.versions.forEach((v, j) => {
      const where = `/apis/${i}/versions/${j}`;
      const other = bases.get(v.base);
      if (other !== undefined)
        out.push({
          segments: ['apis', String(i), 'versions', String(j), 'base'],
          message: `base path '${v.base}' is already used by ${other}`,
        });
      else bases.set(v.base, where);
      if (v.successor !== undefined && !own.has(v.successor))
        out.push({
          segments: ['apis', String(i), 'versions', String(j), 'successor'],
          message: `successor '${v.successor}' is not a base path of API '${api.name}' (expected one of ${[...own].join(', ')})`,
        });
      const at = (key: 'deprecated' | 'sunset'): number | undefined => {
        const text = v[key];
        if (text === undefined) return undefined;
        const t = parseLifecycleDate(text);
        if (t === undefined)
          out.push({
            segments: ['apis', String(i), 'versions', String(j), key],
            message: `'${text}' is not a valid date (YYYY-MM-DD or an RFC 3339 date-time)`,
          });
        return t;
      };
      const dep = at('deprecated');
      const sunset = at('sunset');
      if (dep !== undefined && sunset !== undefined && sunset < dep)
        out.push({
          segments: ['apis', String(i), 'versions', String(j), 'sunset'],
          message: `sunset ${v.sunset} is before deprecation ${v.deprecated} (RFC 8594: Sunset is never earlier than Deprecation)`,
        });
      // Learn mode (docs/learn.md): no document yet, or a document beside which learning observes.
      if (api.mode === 'learn' && v.spec !== undefined)
        out.push({
          segments: ['apis', String(i), 'versions', String(j), 'spec'],
          message: `API '${api.name}' is in mode: learn (no document yet): remove spec, or keep it and set mode: enforce with learn: true to learn beside it`,
        });
      else if (api.mode !== 'learn' && v.spec === undefined)
        out.push({
          segments: ['apis', String(i), 'versions', String(j)],
          message: `spec is required (the version's OpenAPI document), unless API '${api.name}' has mode: learn`,
        });
    });
    if (api.learnSample !== undefined && api.mode !== 'learn' && !api.learn)
      out.push({
        segments: ['apis', String(i), 'learnSample'],
        message: `learnSample has no effect: API '${api.name}' does not learn (set mode: learn or learn: true)`,
      });
  });
  const weak = weakHmacSecrets(config);
  out.push(
    // A weak HMAC secret is reported at its own pointer below, not again as authenticate's create() error.
    ...policyBuildErrors(config.policies, {
      clock: systemClock,
      log: silentLogger,
      localIssuer: undefined,
      apiKeys: undefined,
      counters: new MemoryCounterStore({ clock: systemClock }),
    }).filter((e) => !(weak.length > 0 && e.segments[0] === 'policies' && e.segments[1] === 'authenticate')),
  );
  out.push(...weak);
  // Contradictory limits in policies.rate-limit.defaults / policies.flow-limit.flows.
  out.push(...limitRuleProblems((config as { policies?: Record<string, unknown> }).policies ?? {}));
  out.push(...monitorErrors(config));
  if (config.scans)
    out.push(...scheduleErrors(config.scans).map((e) => ({ ...e, segments: ['scans', ...e.segments] })));
  return out;
}

/** Alert rules (impossible windows, unbounded grouping, unknown fields) and unique notifier names. */
function monitorErrors(config: RampartFileConfig): Array<{ segments: string[]; message: string }> {
  const m = config.monitor;
  if (!m) return [];
  const out = ruleErrors(m.rules, m.defaultRules).map((e) => ({
    segments: ['monitor', 'rules', ...e.segments],
    message: e.message,
  }));
  const names = new Map<string, number>();
  m.notifiers.forEach((n, i) => {
    const first = names.get(n.name);
    if (first !== undefined)
      out.push({
        segments: ['monitor', 'notifiers', String(i), 'name'],
        message: `duplicate notifier name '${n.name}' (also /monitor/notifiers/${first})`,
      });
    else names.set(n.name, i);
  });
  return out;
}

/**
 * HMAC issuer secrets that are too short or in the JWT-cracking wordlist (the authenticate
 * policy refuses them at start too; `allowWeakSecret: true` is the lab demo's explicit override).
 */
function weakHmacSecrets(config: RampartFileConfig): Array<{ segments: string[]; message: string }> {
  const auth = (config.policies as Record<string, unknown> | undefined)?.authenticate;
  const list = (auth as { hmacIssuers?: unknown } | undefined)?.hmacIssuers;
  if (!Array.isArray(list)) return [];
  // Entries of the wrong shape are the schema's to report; only well-formed secrets are judged here.
  const issuers = list.map((raw: unknown): HmacIssuerOptions | undefined => {
    const e = raw as Partial<HmacIssuerOptions> | null;
    if (!e || typeof e.secret !== 'string') return undefined;
    return {
      ...e,
      issuer: String(e.issuer ?? ''),
      secret: e.secret,
      previousSecrets: Array.isArray(e.previousSecrets)
        ? e.previousSecrets.filter((x): x is string => typeof x === 'string')
        : [],
      algorithms: Array.isArray(e.algorithms) ? e.algorithms : ['HS256'],
      allowWeakSecret: e.allowWeakSecret === true,
    } as HmacIssuerOptions;
  });
  return hmacSecretProblems(issuers.map((i) => i ?? SKIP)).map((p) => ({
    segments: ['policies', 'authenticate', ...p.segments],
    message: p.message,
  }));
}

const SKIP = { allowWeakSecret: true } as HmacIssuerOptions;
