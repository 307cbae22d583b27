/**
 * Cross-field rules of the limit policies' rampart.yaml sections, for `rampart check` and
 * start (cli/config-rules.ts): the same contradiction checks as for `x-rampart.rateLimit`,
 * and a flow declared twice with different limits.
 */
import { knownSelector } from './keys.ts';
import { levelProblems, perList, windowSeconds } from './limits.ts';

interface FlowItem {
  name?: unknown;
  per?: string | string[];
  limit?: unknown;
  window?: number | string;
}

export function limitRuleProblems(
  policies: Record<string, unknown>,
): Array<{ segments: string[]; message: string }> {
  const out: Array<{ segments: string[]; message: string }> = [];
  const rl = policies['rate-limit'] as { defaults?: unknown } | undefined;
  if (Array.isArray(rl?.defaults)) {
    for (const p of levelProblems(rl.defaults, knownSelector))
      out.push({ segments: ['policies', 'rate-limit', 'defaults', ...(p.path ?? [])], message: p.message });
  }
  const fl = policies['flow-limit'] as { flows?: unknown } | undefined;
  if (Array.isArray(fl?.flows)) {
    const seen = new Map<string, { i: number; shape: string }>();
    (fl.flows as FlowItem[]).forEach((f, i) => {
      if (typeof f?.name !== 'string' || f.per === undefined || f.window === undefined) return;
      const shape = `${String(f.limit)}|${windowSeconds(f.window)}|${perList(f.per).join('+')}`;
      const prev = seen.get(f.name);
      if (prev && prev.shape !== shape)
        out.push({
          segments: ['policies', 'flow-limit', 'flows', String(i)],
          message: `flow '${f.name}' is also declared by item ${prev.i} with a different limit, window or per`,
        });
      else if (!prev) seen.set(f.name, { i, shape });
    });
  }
  return out;
}
