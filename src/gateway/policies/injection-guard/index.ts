import { Type } from '@sinclair/typebox';
import { problem } from '../../../core/errors.ts';
import {
  detectInjection,
  INJECTION_KINDS,
  isOperatorKey,
  isOperatorParamName,
  type InjectionFinding,
  type InjectionKind,
} from '../../contract/injection.ts';
import { parseQuery } from '../../contract/params.ts';
import { definePolicy, deny, type RequestContext } from '../../policy.ts';
import { PRIORITIES } from '../../priorities.ts';
import { injectionXRampart } from './x-rampart.ts';

const schema = Type.Object(
  {
    mode: Type.Union([Type.Literal('enforce'), Type.Literal('report')], {
      description:
        'enforce: refuse (400 injection-detected); report: emit a contract-violation event and forward.',
      default: 'enforce',
    }),
    kinds: Type.Array(Type.Union(INJECTION_KINDS.map((k) => Type.Literal(k))), {
      uniqueItems: true,
      description: 'Injection kinds detected: sql, nosql, command, path-traversal, template, script.',
      default: [...INJECTION_KINDS],
    }),
    maxStrings: Type.Integer({
      minimum: 1,
      description:
        'Strings inspected per request at most (beyond: the rest of a huge body is not inspected, an event says so).',
      default: 2000,
    }),
  },
  { additionalProperties: false, description: 'Injection guard for free-text values (API8).' },
);

interface Hit {
  pointer: string;
  finding: InjectionFinding;
}

const esc = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** One value of the body walk; its JSON pointer is built from the parents only when asked. */
interface WalkNode {
  v: unknown;
  up: WalkNode | undefined;
  /** Member name or item index in the parent ('' for the body itself). */
  seg: string | number;
  /** The nearest member name (items inherit their array's), for `allow` by field name. */
  name: string;
}

function pointerOf(node: WalkNode): string {
  let p = '';
  for (let n: WalkNode | undefined = node; n?.up !== undefined; n = n.up)
    p = '/' + (typeof n.seg === 'number' ? String(n.seg) : esc(n.seg)) + p;
  return '/body' + p;
}

/**
 * injection-guard: looks at the values a schema cannot constrain — query and path
 * parameters and every string of a JSON body — for SQL, NoSQL operators (also `$`-keys and
 * `name[$ne]` parameters), OS command, path traversal, template and script injection
 * (src/gateway/contract/injection.ts, measured in docs/injection.md). Fields named in
 * `x-rampart.injection.allow` (free text that may hold code) are skipped.
 */
export const injectionGuard = definePolicy({
  name: 'injection-guard',
  priority: PRIORITIES['injection-guard'],
  enabledByDefault: false,
  schema,
  xRampart: injectionXRampart,
  create(options) {
    return {
      forRoute(route) {
        const x = (route.rampart.injection ?? {}) as {
          allow?: string[];
          kinds?: InjectionKind[];
          enabled?: boolean;
        };
        if (x.enabled === false) return undefined;
        const kinds = new Set<InjectionKind>(x.kinds ?? options.kinds);
        const allowNames = new Set<string>();
        const allowPointers = new Set<string>();
        for (const a of x.allow ?? []) {
          if (a.startsWith('/')) allowPointers.add(a);
          else if (a.startsWith('query.')) allowPointers.add('/query/' + esc(a.slice(6)));
          else allowNames.add(a);
        }
        const nosql = kinds.has('nosql');
        const routeName = `${route.operation.method.toUpperCase()} ${route.template}`;
        const max = options.maxStrings;

        const scan = (ctx: RequestContext): Hit | undefined => {
          let budget = max;
          const check = (value: string, pointer: string, name: string): Hit | undefined => {
            if (budget-- <= 0) return undefined;
            if (allowNames.has(name) || allowPointers.has(pointer)) return undefined;
            const f = detectInjection(value, kinds);
            return f ? { pointer, finding: f } : undefined;
          };
          if (ctx.query !== '') {
            for (const [name, values] of parseQuery(ctx.query)) {
              const pointer = '/query/' + esc(name);
              if (nosql && isOperatorParamName(name))
                return { pointer, finding: { kind: 'nosql', rule: 'nosql-operator-parameter' } };
              for (const v of values) {
                const h = check(v, pointer, name);
                if (h) return h;
              }
            }
          }
          const params = ctx.route!.params;
          for (const name in params) {
            const h = check(params[name]!, '/path/' + esc(name), name);
            if (h) return h;
          }
          const body = ctx.json();
          if (body === undefined) return undefined;
          // Iterative walk: no recursion on client-controlled depth. Pointers are built only
          // when needed (a hit, or allow-listed pointers to compare with), from each node's parent.
          const byPointer = allowPointers.size > 0;
          const stack: WalkNode[] = [{ v: body, up: undefined, seg: '', name: '' }];
          while (stack.length > 0 && budget > 0) {
            const node = stack.pop()!;
            const v = node.v;
            if (typeof v === 'string') {
              if (budget-- <= 0) return undefined;
              if (allowNames.has(node.name) || (byPointer && allowPointers.has(pointerOf(node)))) continue;
              const f = detectInjection(v, kinds);
              if (f) return { pointer: pointerOf(node), finding: f };
            } else if (Array.isArray(v)) {
              for (let i = v.length - 1; i >= 0; i--)
                stack.push({ v: v[i], up: node, seg: i, name: node.name });
            } else if (v !== null && typeof v === 'object') {
              if (allowNames.has(node.name) || (byPointer && allowPointers.has(pointerOf(node)))) continue;
              for (const k of Object.keys(v)) {
                const child: WalkNode = { v: (v as Record<string, unknown>)[k], up: node, seg: k, name: k };
                if (nosql && isOperatorKey(k))
                  return {
                    pointer: pointerOf(child),
                    finding: { kind: 'nosql', rule: 'nosql-operator-key' },
                  };
                stack.push(child);
              }
            }
          }
          return undefined;
        };

        return {
          onRequest: function injectionGuardHook(ctx: RequestContext) {
            const hit = scan(ctx);
            if (!hit) return undefined;
            ctx.emit({
              type: 'contract-violation',
              at: ctx.clock.now(),
              requestId: ctx.id,
              ip: ctx.ip,
              policy: 'injection-guard',
              direction: 'request',
              action: options.mode === 'enforce' ? 'blocked' : 'reported',
              api: route.api,
              route: routeName,
              problem: 'injection-detected',
              violations: [{ pointer: hit.pointer, keyword: hit.finding.rule }],
            });
            if (options.mode === 'report') return undefined;
            return deny(
              problem('injection-detected', {
                detail: `The value at ${hit.pointer} looks like ${hit.finding.kind} injection`,
                errors: [{ pointer: hit.pointer, kind: hit.finding.kind, rule: hit.finding.rule }],
              }),
            );
          },
        };
      },
    };
  },
});
