/** API4 — unrestricted resource consumption: unbounded inputs, page sizes, ReDoS-prone patterns. */
import { isObj, properties, unboundedValues, type Obj } from '../schema.ts';
import type { Rule } from '../types.ts';
import { tokens } from '../words.ts';
import { bodySchemas, list, paramSchema, snippet } from './util.ts';

const PAGE_SIZE = [
  'limit',
  'pagesize',
  'perpage',
  'size',
  'count',
  'top',
  'first',
  'last',
  'max',
  'maxresults',
  'pagelimit',
  'take',
];

export function isPageSizeName(name: string): boolean {
  return PAGE_SIZE.includes(tokens(name).join(''));
}

export const unboundedInput: Rule = {
  id: 'audit/unbounded-input',
  title: 'Inputs without size limits',
  owasp: 'API4:2023',
  cwe: 770,
  severity: 'medium',
  rationale:
    'A page size with no maximum lets one request read a whole table; strings, arrays and numbers with no bound let one request make the server buffer, parse, store or loop over as much as the client sends.',
  fix: 'Give every page size a `maximum`, every string a `maxLength` (or a bounded pattern/enum/format), every array a `maxItems`, every number a `maximum`; cap request bodies at the gateway.',
  policy: 'validate-request',
  related: ['unbounded-page-size', 'unbounded-body'],
  operation(ctx) {
    const { op, audit } = ctx;
    const page: string[] = [];
    const fields: string[] = [];
    for (const p of op.parameters) {
      const s = paramSchema(p.schema);
      if (!s) continue;
      const u = unboundedValues(s);
      if (!u.length) continue;
      if (isPageSizeName(p.name) && u.some((x) => x.kind === 'number')) page.push(p.name);
      else if (p.in !== 'path') fields.push(`${p.name} (${p.in})`);
    }
    const bodyFields: string[] = [];
    for (const b of bodySchemas(ctx))
      for (const u of unboundedValues(b.schema)) bodyFields.push(u.path || '(body)');
    const capped =
      typeof op.rampart.bodyLimit === 'number' ||
      (audit.gateway?.maxBodyBytes !== undefined && audit.gateway.maxBodyBytes > 0);
    if (!page.length && !fields.length && !bodyFields.length) return undefined;
    const parts: string[] = [];
    if (page.length) parts.push(`page size ${list(page)} has no maximum`);
    if (bodyFields.length)
      parts.push(
        `body ${list([...new Set(bodyFields)])} unbounded${capped ? ' (the body itself is capped)' : ' and no body limit is declared'}`,
      );
    if (fields.length) parts.push(`${list(fields)} unbounded`);
    const severity = page.length || (bodyFields.length && !capped) ? 'medium' : 'low';
    return {
      severity,
      message: `${op.method.toUpperCase()} ${op.path}: ${parts.join('; ')}.`,
      details: { pageSize: page, body: [...new Set(bodyFields)], parameters: fields },
      ...(bodyFields.length && !capped ? { xRampart: snippet({ bodyLimit: 65536 }) } : {}),
    };
  },
};

/**
 * A nested quantifier — a group that is itself repeated and contains a repetition
 * (`(a+)+`, `([a-z]*)*`, `(x|y+){2,}`) — backtracks exponentially on a near miss.
 */
export function redosProne(pattern: string): boolean {
  // Classes and escapes become one placeholder (`C`); literal characters stay.
  const src = pattern.replace(/\\./g, 'C').replace(/\[(\\.|[^\]\\])*\]/g, 'C');
  const stack: Array<{ quantified: boolean; start: number }> = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '(') stack.push({ quantified: false, start: i + 1 + (src.startsWith('?:', i + 1) ? 2 : 0) });
    else if (c === ')') {
      const inner = stack.pop();
      const next = src.slice(i + 1);
      const repeated = /^([*+]|\{\d*,\d*\}|\{\d{2,}\})/.test(next);
      // A group that starts with a fixed literal (`( [a-z]+)*`, `(,\d+)*`) cannot split one
      // input two ways: each repetition is anchored by its separator.
      const first = inner ? src[inner.start] : undefined;
      const anchored =
        first !== undefined &&
        !'C().|*+?{'.includes(first) &&
        !/[*+?{]/.test(src[inner!.start + 1] ?? '') &&
        !src.slice(inner!.start, i).includes('|');
      if (inner?.quantified && repeated && !anchored) return true;
      if (stack.length && (inner?.quantified || repeated)) stack[stack.length - 1]!.quantified = true;
    } else if ((c === '*' || c === '+' || (c === '{' && /^\{\d*,/.test(src.slice(i)))) && stack.length) {
      stack[stack.length - 1]!.quantified = true;
    }
  }
  return false;
}

export const redosPattern: Rule = {
  id: 'audit/redos-pattern',
  title: 'Pattern prone to catastrophic backtracking (ReDoS)',
  owasp: 'API4:2023',
  cwe: 1333,
  severity: 'medium',
  rationale:
    'A server that validates input with this pattern in a backtracking engine (JavaScript, Java, Python, .NET) spends exponential time on a crafted near-miss; one request can block a worker.',
  fix: 'Rewrite the pattern without nested quantifiers (e.g. `^[a-z0-9._%+-]+@…` instead of `^([a-z0-9._%+-]+)+@…`) and bound the input with `maxLength` before matching.',
  related: ['redos'],
  operation(ctx) {
    const prone: Array<{ where: string; pattern: string }> = [];
    const check = (s: Obj | undefined, where: string): void => {
      if (s && typeof s.pattern === 'string' && redosProne(s.pattern))
        prone.push({ where, pattern: s.pattern });
    };
    for (const p of ctx.op.parameters) check(paramSchema(p.schema), `${p.name} (${p.in})`);
    for (const b of bodySchemas(ctx)) {
      check(b.schema, '(body)');
      for (const p of properties(b.schema)) if (isObj(p.schema)) check(p.schema, p.path);
    }
    if (!prone.length) return undefined;
    return {
      message: `${list(prone.map((p) => p.where))} ${prone.length > 1 ? 'use' : 'uses'} ${prone.map((p) => `\`${p.pattern}\``).join(', ')}.`,
      details: { patterns: prone },
    };
  },
};
