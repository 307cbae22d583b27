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
import { compileConstrained, type ConstrainedNode } from '../../contract/constrained.ts';
import { isJsonMedia, matchMedia, mediaType } from '../../contract/operation.ts';
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

/**
 * One container (object or array) of the body walk, whose values are visited in place: no
 * object per value; a JSON pointer is built from the frames only for a hit or an allow-listed
 * pointer to compare with.
 */
interface Frame {
  c: unknown[] | Record<string, unknown>;
  /** An object's member names (visited last to first, as the walk always has); undefined for arrays. */
  keys: string[] | undefined;
  /** The next item index (arrays, ascending) or member index (objects, descending). */
  i: number;
  up: Frame | undefined;
  /** This container's member name or item index in its parent. */
  seg: string | number;
  /** The nearest member name (items inherit their array's), for `allow` by field name. */
  name: string;
  /** This container's position in the request schema (undefined: not declared, free text). */
  node: ConstrainedNode | undefined;
}

const segment = (seg: string | number): string => '/' + (typeof seg === 'number' ? String(seg) : esc(seg));

/** The pointer of the value at `seg` in `frame` (the body itself when `frame` is undefined). */
function pointerAt(frame: Frame | undefined, seg: string | number): string {
  if (frame === undefined) return '/body';
  let p = segment(seg);
  for (let f: Frame = frame; f.up !== undefined; f = f.up) p = segment(f.seg) + p;
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

        const byPointer = allowPointers.size > 0;
        // Where the body schema leaves no room for an injection (enum, const, a date or UUID
        // format, a token pattern): skipped, but only in a body validate-request found valid.
        const constrained = new Map<string, ConstrainedNode>();
        for (const [type, media] of Object.entries(route.operation.requestBody?.content ?? {})) {
          const node = isJsonMedia(type.toLowerCase()) ? compileConstrained(media.schema) : undefined;
          if (node) constrained.set(type.toLowerCase(), node);
        }
        const check = (value: string, pointer: string, name: string): Hit | undefined => {
          if (allowNames.has(name) || allowPointers.has(pointer)) return undefined;
          const f = detectInjection(value, kinds);
          return f ? { pointer, finding: f } : undefined;
        };

        const scan = (ctx: RequestContext): Hit | undefined => {
          let budget = max;
          if (ctx.query !== '') {
            for (const [name, values] of parseQuery(ctx.query)) {
              const pointer = '/query/' + esc(name);
              if (nosql && isOperatorParamName(name))
                return { pointer, finding: { kind: 'nosql', rule: 'nosql-operator-parameter' } };
              for (const v of values) {
                const h = budget-- > 0 ? check(v, pointer, name) : undefined;
                if (h) return h;
              }
            }
          }
          const params = ctx.route!.params;
          for (const name in params) {
            const h = budget-- > 0 ? check(params[name]!, '/path/' + esc(name), name) : undefined;
            if (h) return h;
          }
          const body = ctx.json();
          if (body === undefined || budget <= 0) return undefined;
          // Iterative walk (no recursion on client-controlled depth), depth first: items in
          // order, members last to first, an object's member names checked before its values.
          const frames: Frame[] = [];
          let frame: Frame | undefined; // the container `v` is in (undefined: the body itself)
          let v: unknown = body;
          let seg: string | number = '';
          let name = '';
          let node =
            constrained.size > 0 && ctx.state.conformingBody === ctx.body
              ? matchMedia(constrained, mediaType(ctx.headers['content-type']))
              : undefined;
          for (;;) {
            if (typeof v === 'string') {
              if (budget-- <= 0) return undefined;
              if (node?.string === true) {
                // Constrained by the contract this body was just validated against: not free text.
              } else if (!allowNames.has(name) && !(byPointer && allowPointers.has(pointerAt(frame, seg)))) {
                const f = detectInjection(v, kinds);
                if (f) return { pointer: pointerAt(frame, seg), finding: f };
              }
            } else if (Array.isArray(v)) {
              frames.push({ c: v, keys: undefined, i: 0, up: frame, seg, name, node });
            } else if (v !== null && typeof v === 'object') {
              if (!allowNames.has(name) && !(byPointer && allowPointers.has(pointerAt(frame, seg)))) {
                const keys = Object.keys(v);
                const f: Frame = {
                  c: v as Record<string, unknown>,
                  keys,
                  i: keys.length - 1,
                  up: frame,
                  seg,
                  name,
                  node,
                };
                if (nosql)
                  for (const k of keys)
                    if (isOperatorKey(k))
                      return {
                        pointer: pointerAt(f, k),
                        finding: { kind: 'nosql', rule: 'nosql-operator-key' },
                      };
                frames.push(f);
              }
            }
            // The next value: from the innermost container that has one left.
            let next: Frame | undefined;
            while (frames.length > 0) {
              const top = frames[frames.length - 1]!;
              if (top.keys === undefined ? top.i < (top.c as unknown[]).length : top.i >= 0) {
                next = top;
                break;
              }
              frames.pop();
            }
            if (next === undefined || budget <= 0) return undefined;
            frame = next;
            if (next.keys === undefined) {
              seg = next.i++;
              v = (next.c as unknown[])[seg];
              name = next.name;
              node = next.node?.items;
            } else {
              name = seg = next.keys[next.i--]!;
              v = (next.c as Record<string, unknown>)[seg];
              node = next.node?.props?.get(seg);
            }
          }
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
