import type { Check } from '../context.ts';
import { propertiesOf, requestSchema, typesOf } from '../spec.ts';
import { fix, who, OWASP } from './util.ts';
import { writableTargets } from './resource.ts';

const SHORT = 12;
const LONG = 27;
const SLOW_MS = 250;

/**
 * ReDoS: string properties validated by a pattern or a format get an input that makes
 * backtracking regular expressions explode ('a'×n + '!'). A long input that is much
 * slower than a short one of the same shape, twice, is reported (timing confirmed twice).
 */
export const redos: Check = {
  id: 'redos',
  title: 'Regular expression denial of service',
  owasp: 'API4:2023',
  cwe: 1333,
  severity: 'medium',
  applicable: (ctx) =>
    writableTargets(ctx, ['POST', 'PUT', 'PATCH']).length === 0
      ? 'no operation the scan may send a body to'
      : undefined,
  async *run(ctx) {
    for (const t of writableTargets(ctx, ['POST', 'PUT', 'PATCH'])) {
      const props = Object.entries(propertiesOf(requestSchema(t.sop.op))).filter(
        ([, s]) => typesOf(s).includes('string') && s.enum === undefined && s.readOnly !== true,
      );
      for (const [name] of props.slice(0, 8)) {
        const body = ctx.sampleBody(t.sop) ?? {};
        const time = async (n: number): Promise<{ ms: number; x: Awaited<ReturnType<typeof ctx.call>> }> => {
          const x = await ctx.call(t.sop, {
            params: t.params,
            body: { ...body, [name]: 'a'.repeat(n) + '!' },
            ...(t.identity ? { identity: t.identity } : {}),
          });
          return { ms: x.response?.durationMs ?? 0, x };
        };
        const short = await time(SHORT);
        const long1 = await time(LONG);
        if (long1.ms < SLOW_MS || long1.ms < short.ms * 10) continue;
        const short2 = await time(SHORT);
        const long2 = await time(LONG);
        if (long2.ms < SLOW_MS || long2.ms < short2.ms * 10) continue;
        yield {
          operation: t.sop.key,
          key: name,
          title: `ReDoS in '${name}' of ${t.sop.key}`,
          description: `'${name}' = 'a'×${LONG}+'!' took ${Math.round(long1.ms)} ms and ${Math.round(long2.ms)} ms; 'a'×${SHORT}+'!' took ${Math.round(short.ms)} ms and ${Math.round(short2.ms)} ms. Validation backtracks exponentially: a few such requests block the server.`,
          exchanges: [
            { x: short.x, note: `${who(t.identity)}: ${SHORT} characters → ${Math.round(short.ms)} ms` },
            { x: long1.x, note: `${LONG} characters → ${Math.round(long1.ms)} ms` },
            { x: long2.x, note: `again → ${Math.round(long2.ms)} ms` },
          ],
          confidence: 'confirmed',
          details: { shortMs: [short.ms, short2.ms], longMs: [long1.ms, long2.ms] },
          remediation: fix(
            'Use linear-time patterns (no nested quantifiers) and cap the length before matching.',
            'validate-request',
            `# in the document: ${name}: { type: string, maxLength: 254 }\nx-rampart:\n  validateRequest: true`,
            [
              OWASP + '0xa4-unrestricted-resource-consumption/',
              'https://owasp.org/www-community/attacks/Regular_expression_Denial_of_Service_-_ReDoS',
            ],
          ),
        };
        break;
      }
    }
  },
};
