import { type Learner, type OperationStats, isJson, type Credential } from './learner.ts';
import { piiPlaces, type Shape } from './shape.ts';
import type { TemplateSegment } from './paths.ts';

/**
 * The learned OpenAPI 3.1 document. Everything inferred is a description of what passed;
 * what the learner would have Rampart enforce is under `x-rampart-suggested` (never
 * `x-rampart`: nothing is enforced until a person promotes it, docs/learn.md), and the
 * counts behind each fact under `x-rampart-observed`.
 */
export interface DocumentOptions {
  title?: string;
  /** Where the traffic went (the upstream URL), for `info.description`. */
  upstream?: string;
  version?: string;
}

type Obj = Record<string, unknown>;

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function learnedDocument(learner: Learner, opts: DocumentOptions = {}): Obj {
  const paths: Record<string, Obj> = {};
  const schemes = new Map<string, Credential>();
  const operationIds = new Set<string>();
  for (const { method, template, path, op } of learner.templates()) {
    const item = (paths[path] ??= {});
    item[method] = operation(method, template, op, learner, schemes, operationIds);
  }
  const securitySchemes: Obj = {};
  for (const [name, c] of [...schemes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)))
    securitySchemes[name] =
      c.kind === 'bearer'
        ? { type: 'http', scheme: 'bearer', ...(c.jwt ? { bearerFormat: 'JWT' } : {}) }
        : c.kind === 'basic'
          ? { type: 'http', scheme: 'basic' }
          : { type: 'apiKey', in: c.in, name: c.name };
  const s = learner.stats;
  return {
    openapi: '3.1.0',
    info: {
      title: opts.title ?? 'Learned from traffic',
      version: opts.version ?? '0.0.0-learned',
      description:
        `Inferred by \`rampart learn\`${opts.upstream ? ` from traffic to ${opts.upstream}` : ''}: ` +
        'shapes and counts only. Review before enforcing: suggestions are under x-rampart-suggested.',
    },
    paths,
    ...(Object.keys(securitySchemes).length ? { components: { securitySchemes } } : {}),
    'x-rampart-observed': {
      exchanges: s.exchanges,
      learned: s.learned,
      ...learner.seen(),
      skipped: s.skipped,
      upstreamErrors: s.upstreamErrors,
      ...(s.lastUpstreamError ? { lastUpstreamError: s.lastUpstreamError } : {}),
      unconfirmedOperations: learner.unconfirmed(),
      paths: learner.trie.stats,
      limits: limitsOf(learner),
    },
  };
}

function operation(
  method: string,
  template: TemplateSegment[],
  op: OperationStats,
  learner: Learner,
  schemes: Map<string, Credential>,
  operationIds: Set<string>,
): Obj {
  const limits = learner.limits.shapes;
  const parameters: Obj[] = [];
  let position = -1;
  const paramAt = new Map<number, string>();
  for (const seg of template) {
    position++;
    if ('param' in seg) {
      paramAt.set(position, seg.param);
      parameters.push({ name: seg.param, in: 'path', required: true, schema: seg.schema });
    }
  }
  for (const [where, map] of [
    ['query', op.query],
    ['header', op.headers],
    ['cookie', op.cookies],
  ] as const)
    for (const [name, p] of [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const schema = p.shape.kinds.size ? p.shape.schema(limits) : { type: 'string' };
      parameters.push({
        name,
        in: where,
        ...(p.count >= op.calls ? { required: true } : {}),
        schema,
        'x-rampart-observed': { calls: p.count },
      });
    }
  const out: Obj = { operationId: operationId(method, template, operationIds) };
  if (parameters.length) out.parameters = parameters;
  const bodies = [...op.requestBodies.entries()];
  if (bodies.length) {
    const withBody = bodies.reduce((n, [, b]) => n + b.count, 0);
    out.requestBody = {
      ...(withBody >= op.calls ? { required: true } : {}),
      content: content(bodies, limits),
    };
  }
  const responses: Obj = {};
  for (const [status, bodies] of [...op.responses.entries()].sort(([a], [b]) => a - b)) {
    const calls = op.statuses.get(status) ?? 0;
    responses[String(status)] = {
      description: REASONS[status] ?? `Status ${status}`,
      ...(bodies.size ? { content: content([...bodies.entries()], limits) } : {}),
      'x-rampart-observed': { calls },
    };
  }
  out.responses = Object.keys(responses).length ? responses : { default: { description: 'Not observed' } };
  const security = securityOf(op, learner, schemes);
  if (security) out.security = security.requirement;
  const suggested = suggestions(op, paramAt, learner);
  if (Object.keys(suggested).length) out['x-rampart-suggested'] = suggested;
  out['x-rampart-observed'] = {
    calls: op.calls,
    statuses: Object.fromEntries([...op.statuses.entries()].sort(([a], [b]) => a - b)),
    ...(security
      ? { security: security.basis }
      : { security: 'unknown: no call was answered 2xx, 3xx, 401 or 403' }),
    principals: op.principals.size,
    ...(op.budget.truncated ? { truncatedProperties: op.budget.truncated } : {}),
    exemplars: op.exemplars,
  };
  return out;
}

function content(
  bodies: Array<[string, { count: number; parsed: number; shape: Shape | undefined }]>,
  limits: Parameters<Shape['schema']>[0],
): Obj {
  const out: Obj = {};
  for (const [ct, b] of bodies.sort(([a], [c]) => (a < c ? -1 : 1))) {
    const schema: Obj = b.shape
      ? b.shape.schema(limits)
      : isJson(ct)
        ? {}
        : ct.startsWith('text/')
          ? { type: 'string' }
          : { type: 'string', contentMediaType: ct };
    out[ct] = { schema, 'x-rampart-observed': { calls: b.count, parsed: b.parsed } };
  }
  return out;
}

/**
 * Security from what was seen: a credential that got 2xx/3xx answers, and no anonymous call
 * that did, makes it required (firm when anonymous calls were answered 401/403); an anonymous
 * success makes the operation public (`[]`), optional (`[{}, …]`) when credentials were also sent.
 */
function securityOf(
  op: OperationStats,
  learner: Learner,
  schemes: Map<string, Credential>,
): { requirement: Array<Record<string, string[]>>; basis: string } | undefined {
  const working = [...op.credentials.entries()].filter(([, c]) => c.ok > 0);
  for (const [name, c] of working) schemes.set(name, c.credential);
  const reqs = working.map(([name]) => ({ [name]: [] as string[] }));
  if (op.anonymous.ok > 0)
    return reqs.length
      ? { requirement: [{}, ...reqs], basis: 'optional: answered with and without credentials' }
      : { requirement: [], basis: 'public: answered without credentials' };
  if (reqs.length)
    return {
      requirement: reqs,
      basis:
        op.anonymous.denied > 0
          ? `required: ${op.anonymous.denied} call(s) without credentials answered 401/403`
          : 'required: only called with credentials',
    };
  if (op.anonymous.denied > 0 || [...op.credentials.values()].some((c) => c.denied > 0)) {
    // Only refusals: the API's most used credential.
    const best = dominantCredential(learner);
    if (best) {
      schemes.set(best[0], best[1]);
      return { requirement: [{ [best[0]]: [] }], basis: 'required: only 401/403 answers seen' };
    }
  }
  return undefined;
}

function dominantCredential(learner: Learner): [string, Credential] | undefined {
  const tally = new Map<string, { n: number; c: Credential }>();
  for (const op of learner.operations.values())
    for (const [k, c] of op.credentials) {
      const t = tally.get(k) ?? { n: 0, c: c.credential };
      t.n += c.ok;
      tally.set(k, t);
    }
  const best = [...tally.entries()].sort(([, a], [, b]) => b.n - a.n)[0];
  return best && best[1].n > 0 ? [best[0], best[1].c] : undefined;
}

/** Suggested `x-rampart` settings (roles, owner) and minimisation; each with its basis. */
function suggestions(op: OperationStats, paramAt: Map<number, string>, learner: Learner): Obj {
  const out: Obj = {};
  const okRoles = [...op.roles.entries()]
    .filter(([, r]) => r.ok > 0)
    .map(([r]) => r)
    .sort();
  const deniedRoles = [...op.roles.entries()]
    .filter(([, r]) => r.denied > 0 && r.ok === 0)
    .map(([r]) => r)
    .sort();
  if (okRoles.length && (deniedRoles.length || okRoles.length < learner.allRoles.size))
    out.roles = {
      value: okRoles,
      basis: deniedRoles.length
        ? `2xx for ${okRoles.join(', ')}; 403 for ${deniedRoles.join(', ')}`
        : `only ${okRoles.join(', ')} called it (of ${[...learner.allRoles].sort().join(', ')})`,
      confidence: deniedRoles.length ? 'firm' : 'tentative',
    };
  const owner = ownerSuggestion(op, paramAt, okRoles);
  if (owner) out.owner = owner;
  const pii: Array<{ status: number; pointer: string; kinds: string[] }> = [];
  for (const [status, bodies] of op.responses) {
    if (status < 200 || status >= 300) continue;
    for (const b of bodies.values())
      if (b.shape) for (const p of piiPlaces(b.shape)) pii.push({ status, ...p });
  }
  if (pii.length)
    out.minimise = {
      value: pii,
      basis:
        'personal data seen in 2xx answers (kinds only, no value kept): declare only what clients need, mask the rest (minimise-response)',
    };
  if (Object.keys(out).length)
    out.note =
      'Suggestions from traffic: review before copying them into x-rampart. Nothing here is enforced.';
  return out;
}

/** Fields of 2xx answers (top level or list items) or path parameters that equal the caller's `sub`. */
function ownerSuggestion(
  op: OperationStats,
  paramAt: Map<number, string>,
  okRoles: string[],
): Obj | undefined {
  const roles = okRoles.length ? okRoles : ['*'];
  const matchesFor = (facts: Map<string, { samples: number; matches: number }>, role: string): boolean => {
    const f = facts.get(role);
    return f !== undefined && f.samples > 0 && f.matches === f.samples;
  };
  for (const [pos, facts] of op.pathOwner) {
    const name = paramAt.get(pos);
    if (!name) continue;
    const owned = roles.filter((r) => matchesFor(facts, r));
    if (owned.length)
      return {
        value: {
          param: name,
          claim: 'sub',
          ...(owned.length < roles.length ? { bypassRoles: roles.filter((r) => !owned.includes(r)) } : {}),
        },
        basis: `path parameter ${name} equalled the caller's sub for ${owned.join(', ')}`,
        confidence: 'tentative',
      };
  }
  const fields = new Map<string, Map<string, { samples: number; matches: number }>>();
  for (const [status, bodies] of op.responses) {
    if (status < 200 || status >= 300) continue;
    for (const b of bodies.values()) {
      if (!b.shape?.props) continue;
      const places: Array<[string, Shape]> = [...b.shape.props.entries()];
      for (const p of b.shape.props.values())
        if (p.items?.props) for (const [ik, ip] of p.items.props) places.push([ik, ip]);
      if (b.shape.items?.props) for (const [ik, ip] of b.shape.items.props) places.push([ik, ip]);
      for (const [k, s] of places) if (s.owner.size) fields.set(k, s.owner);
    }
  }
  const byRole = new Map<string, string>();
  const weight = new Map<string, number>();
  for (const r of roles)
    for (const [k, facts] of fields)
      if (k !== 'id' && matchesFor(facts, r)) {
        byRole.set(r, k);
        weight.set(k, (weight.get(k) ?? 0) + facts.get(r)!.matches);
        break;
      }
  if (byRole.size === 0) return undefined;
  // The field that matched most often first (the usual owner), the other as alsoField.
  const distinct = [...new Set(byRole.values())].sort((a, b) => weight.get(b)! - weight.get(a)!);
  const bypass = roles.filter((r) => !byRole.has(r) && r !== '*');
  return {
    value: {
      field: distinct[0],
      claim: 'sub',
      ...(distinct[1] ? { alsoField: distinct[1] } : {}),
      ...(bypass.length ? { bypassRoles: bypass } : {}),
    },
    basis: [...byRole.entries()]
      .map(([r, f]) => `${f} equalled the caller's sub${r === '*' ? '' : ` for ${r}`}`)
      .join('; '),
    confidence: 'tentative',
  };
}

function operationId(method: string, template: TemplateSegment[], used: Set<string>): string {
  const words = template.map((s) =>
    'literal' in s
      ? s.literal.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))
      : `By${s.param.charAt(0).toUpperCase()}${s.param.slice(1)}`,
  );
  const base = method + words.map((w) => (w ? w.charAt(0).toUpperCase() + w.slice(1) : '')).join('');
  let id = base || method;
  for (let i = 2; used.has(id); i++) id = `${base}${i}`;
  used.add(id);
  return id;
}

function limitsOf(learner: Learner): Obj {
  const { paths, shapes, ...rest } = learner.limits;
  return { ...rest, ...paths, ...shapes };
}
