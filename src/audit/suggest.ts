/**
 * `--suggest-policies`: the x-rampart extensions that would close the findings, merged
 * per operation into one `paths:` fragment to paste into the document.
 */
import { parse, stringify } from 'yaml';
import type { Finding } from '../core/findings.ts';
import { parsePointer } from '../core/config-loader.ts';

export function suggestedPolicies(findings: readonly Finding[]): string {
  const paths: Record<string, Record<string, Record<string, unknown>>> = {};
  let n = 0;
  for (const f of findings) {
    const text = f.remediation.xRampart;
    const pointer = f.evidence.location?.pointer;
    if (!text || !pointer?.startsWith('/paths/')) continue;
    const [, path, method] = parsePointer(pointer);
    if (!path || !method) continue;
    const block = (parse(text) as { 'x-rampart'?: Record<string, unknown> })['x-rampart'] ?? {};
    const op = ((paths[path] ??= {})[method] ??= { 'x-rampart': {} });
    Object.assign(op['x-rampart'] as Record<string, unknown>, block);
    n++;
  }
  if (!n) return '# No x-rampart suggestion: nothing found that a gateway policy closes.\n';
  return (
    `# x-rampart that would close ${n} finding${n === 1 ? '' : 's'} — merge under the matching operations.\n` +
    '# Check each value (owner field names, limits) against your API before pasting.\n' +
    stringify({ paths }, { lineWidth: 0 })
  );
}
