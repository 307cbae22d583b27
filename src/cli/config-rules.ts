import { parseLifecycleDate } from '../core/lifecycle.ts';
import { silentLogger } from '../core/logger.ts';
import { systemClock } from '../core/clock.ts';
import type { RampartConfig } from '../gateway/config.ts';
import { policyBuildErrors } from '../gateway/policies/index.ts';

/**
 * Rules for rampart.yaml that JSON Schema cannot say. Applied by both `rampart check` and
 * `rampart start` (cli/app.ts readConfig), so a config one accepts the other accepts too.
 */
/**
 * Unique API names and base paths, successors that exist, sunset not before deprecation,
 * and what the policies' own `create()` refuses (built once with inert services: no
 * identity, nothing started).
 */
export function crossFieldErrors(config: RampartConfig): Array<{ segments: string[]; message: string }> {
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
    });
  });
  out.push(
    ...policyBuildErrors(config.policies, {
      clock: systemClock,
      log: silentLogger,
      localIssuer: undefined,
      apiKeys: undefined,
    }),
  );
  return out;
}
