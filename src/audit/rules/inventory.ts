/** API9 — improper inventory management: debug endpoints, versions without a retirement plan. */
import { parsePointer } from '../../core/config-loader.ts';
import type { Hit, Rule } from '../types.ts';
import { isDebugLooking } from '../words.ts';
import { isPublic } from './util.ts';

export const internalOperation: Rule = {
  id: 'audit/internal-operation',
  title: 'Debug or internal endpoint in the published contract',
  owasp: 'API9:2023',
  cwe: 489,
  severity: 'high',
  rationale:
    'Debug, test and internal endpoints (`/debug`, `/internal`, `/_…`) expose configuration and bypass the normal flows; published — and worse, unauthenticated — they are the first thing an attacker tries.',
  fix: 'Remove debug and internal operations from production builds and from the public contract; if one must stay, put it on a separate, authenticated admin listener.',
  related: ['inventory'],
  operation({ op }) {
    if (!isDebugLooking(op)) return undefined;
    return {
      severity: isPublic(op) ? 'high' : 'low',
      message: `${op.method.toUpperCase()} ${op.path} looks like a debug or internal endpoint${isPublic(op) ? ' and requires no authentication' : ''}.`,
    };
  },
};

const DATE = /^\d{4}-\d{2}-\d{2}/;

export const deprecatedWithoutSunset: Rule = {
  id: 'audit/deprecated-without-sunset',
  title: 'Deprecated without a sunset date or successor',
  owasp: 'API9:2023',
  severity: 'medium',
  rationale:
    'A deprecated version or operation with no sunset date and no successor stays live forever — usually without the fixes the current version got (RFC 8594 Sunset, RFC 9745 Deprecation).',
  fix: "Announce a sunset date and the successor (x-rampart sunset/successor, or the version's `sunset`/`successor` in rampart.yaml); the gateway then sends Deprecation, Sunset and successor-version Link headers and answers 410 after the date.",
  policy: 'versions',
  related: ['inventory'],
  document(audit) {
    const hits: Hit[] = [];
    const x = audit.doc.raw['x-rampart'] as Record<string, unknown> | undefined;
    const lc = audit.lifecycle ?? {};
    const deprecated = lc.deprecated ?? (typeof x?.deprecated === 'string' ? x.deprecated : undefined);
    const ops = audit.doc.operations;
    const allDeprecated = ops.length > 0 && ops.every((o) => o.deprecated);
    if (!deprecated && !allDeprecated) {
      // Individual deprecated operations.
      for (const o of ops) {
        if (!o.deprecated) continue;
        if (typeof o.rampart.sunset === 'string' && DATE.test(o.rampart.sunset)) continue;
        hits.push({
          key: `${o.method} ${o.path}`,
          operation: `${o.method.toUpperCase()} ${audit.base}${o.path}`,
          at: o.pointer ? parsePointer(o.pointer) : ['paths', o.path, o.method],
          severity: 'low',
          message: `${o.method.toUpperCase()} ${o.path} is deprecated with no x-rampart sunset date.`,
        });
      }
      return hits;
    }
    const sunset = lc.sunset ?? (typeof x?.sunset === 'string' ? x.sunset : undefined);
    const successor = lc.successor ?? (typeof x?.successor === 'string' ? x.successor : undefined);
    if (sunset && successor) return hits;
    const missing = [sunset ? '' : 'sunset date', successor ? '' : 'successor'].filter(Boolean);
    hits.push({
      key: 'version',
      at: x ? ['x-rampart'] : ['info'],
      severity: sunset ? 'low' : 'medium',
      message: `${audit.doc.title || audit.file} ${audit.doc.version} is deprecated${deprecated ? ` (since ${deprecated})` : ''} with no ${missing.join(' and no ')}.`,
    });
    return hits;
  },
};
