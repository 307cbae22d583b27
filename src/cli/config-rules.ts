import { ruleErrors } from '../monitor/index.ts';
import type { RampartFileConfig } from './config-schema.ts';

/**
 * Rules for rampart.yaml that JSON Schema cannot say. Applied by both `rampart check` and
 * `rampart start` (cli/app.ts readConfig), so a config one accepts the other accepts too.
 */
/** Unique API names and base paths, successors that exist, sunset not before deprecation. */
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
      if (v.deprecated !== undefined && v.sunset !== undefined && v.sunset < v.deprecated)
        out.push({
          segments: ['apis', String(i), 'versions', String(j), 'sunset'],
          message: `sunset ${v.sunset} is before deprecation ${v.deprecated}`,
        });
    });
  });
  out.push(...monitorErrors(config));
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
