import type { HttpMethod, OpenApiDocument, OpenApiOperation } from '../core/openapi.ts';
import type { RouteInfo, RouteMatch, VersionLifecycle } from './policy.ts';

/**
 * Routes a request path to an operation of one API version by the OpenAPI path
 * templates. Built once per config load; matching is a walk down a segment trie:
 * literal segments first (OpenAPI: concrete paths win over templated ones), then
 * whole-segment parameters, then partial templates (`/files/{name}.json`).
 */
/** What a route leads to: the RouteMatch fields known before a request arrives, and what was compiled for it. */
interface RouteTarget<T> {
  info: RouteInfo;
  compiled: T;
}

export type RouteResult<T = undefined> =
  | { kind: 'match'; route: RouteMatch; versionKey: string; compiled: T }
  | { kind: 'method-not-allowed'; allow: string; base: string; versionKey: string }
  | { kind: 'not-found'; versionKey: string | undefined };

interface PatternEdge {
  re: RegExp;
  names: string[];
  node: Node;
}

class Node {
  literal: Map<string, Node> | undefined;
  param: { name: string; node: Node } | undefined;
  patterns: PatternEdge[] | undefined;
  ops: Map<string, RouteTarget<unknown>> | undefined;
  allow = '';
}

interface VersionEntry {
  key: string;
  base: string;
  root: Node;
  /** Learn mode: every path and method under the base matches this target. */
  passthrough: RouteTarget<unknown> | undefined;
}

export interface RouterVersionInput {
  /** Identifies the version to the caller (e.g. `bookstore /v2`). */
  key: string;
  api: string;
  base: string;
  document: OpenApiDocument;
  /** The version's lifecycle from rampart.yaml. */
  lifecycle?: VersionLifecycle;
  /** Learn mode: no document yet, every request under the base matches (template `/*`). */
  passthrough?: boolean;
}

/** The template of a learn-mode (passthrough) version's requests. */
export const PASSTHROUGH_TEMPLATE = '/*';

const NO_LIFECYCLE: VersionLifecycle = Object.freeze({});

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Router<T = undefined> {
  private readonly versions: VersionEntry[] = [];
  /** Every operation's route info, in document order. */
  readonly routes: RouteInfo[] = [];

  /**
   * `compile` runs once per operation (the runtime compiles its policy chain there);
   * `passthrough` once per learn-mode version.
   */
  constructor(
    inputs: readonly RouterVersionInput[],
    compile?: (route: RouteInfo) => T,
    passthrough?: (route: RouteInfo) => T,
  ) {
    for (const input of inputs) {
      const root = new Node();
      let pass: RouteTarget<unknown> | undefined;
      if (input.passthrough) {
        const info: RouteInfo = {
          api: input.api,
          base: input.base,
          version: input.document.version,
          template: PASSTHROUGH_TEMPLATE,
          // No document yet: an operation that declares nothing (the pre-routing chain runs).
          operation: {
            method: 'get',
            path: PASSTHROUGH_TEMPLATE,
            tags: [],
            parameters: [],
            responses: {},
            security: [],
            deprecated: false,
            rampart: {},
          },
          rampart: {},
          lifecycle: input.lifecycle ?? NO_LIFECYCLE,
          document: input.document,
        };
        pass = { info, compiled: passthrough ? passthrough(info) : undefined };
      }
      for (const op of input.document.operations) {
        const info: RouteInfo = {
          api: input.api,
          base: input.base,
          version: input.document.version,
          template: op.path,
          operation: op,
          rampart: op.rampart,
          lifecycle: input.lifecycle ?? NO_LIFECYCLE,
          document: input.document,
        };
        this.routes.push(info);
        insert(root, op, { info, compiled: compile ? compile(info) : undefined });
      }
      finalize(root);
      // `/` (an API at the root) matches every path: an empty prefix, tried last.
      this.versions.push({
        key: input.key,
        base: input.base === '/' ? '' : input.base,
        root,
        passthrough: pass,
      });
    }
    // Longest base first so /api/v2 wins over /api.
    this.versions.sort((a, b) => b.base.length - a.base.length);
  }

  /** The version whose base path prefixes `path`, if any. */
  versionFor(path: string): VersionEntry | undefined {
    for (const v of this.versions) {
      if (path.startsWith(v.base) && (path.length === v.base.length || path.charCodeAt(v.base.length) === 47))
        return v;
    }
    return undefined;
  }

  match(method: string, path: string): RouteResult<T> {
    const v = this.versionFor(path);
    if (!v) return { kind: 'not-found', versionKey: undefined };
    const rest = path.length === v.base.length ? '/' : path.slice(v.base.length);
    if (v.passthrough) {
      const route = routeMatch(v.passthrough.info, rest, {});
      return { kind: 'match', route, versionKey: v.key, compiled: v.passthrough.compiled as T };
    }
    const params: Record<string, string> = {};
    const node = walk(v.root, rest, 1, params);
    if (!node || !node.ops) return { kind: 'not-found', versionKey: v.key };
    const m = method.toLowerCase();
    let target = node.ops.get(m) as RouteTarget<T> | undefined;
    // HEAD is served by GET when the document does not declare HEAD (RFC 9110 §9.3.2).
    if (!target && m === 'head') target = node.ops.get('get') as RouteTarget<T> | undefined;
    if (!target) return { kind: 'method-not-allowed', allow: node.allow, base: v.base, versionKey: v.key };
    for (const k in params) {
      try {
        params[k] = decodeURIComponent(params[k]!);
      } catch {
        return { kind: 'not-found', versionKey: v.key };
      }
    }
    return {
      kind: 'match',
      route: routeMatch(target.info, rest, params),
      versionKey: v.key,
      compiled: target.compiled,
    };
  }
}

/** One fixed shape, built per request (params and path are the request's). */
function routeMatch(t: RouteInfo, path: string, params: Record<string, string>): RouteMatch {
  return {
    api: t.api,
    base: t.base,
    version: t.version,
    template: t.template,
    operation: t.operation,
    rampart: t.rampart,
    lifecycle: t.lifecycle,
    document: t.document,
    path,
    params,
  };
}

function insert(root: Node, op: OpenApiOperation, target: RouteTarget<unknown>): void {
  let node = root;
  const segments = op.path.split('/').slice(1);
  for (const seg of segments) {
    const whole = /^\{([^{}]+)\}$/.exec(seg);
    if (whole) {
      const name = whole[1]!;
      node.param ??= { name, node: new Node() };
      node = node.param.node;
    } else if (seg.includes('{')) {
      node.patterns ??= [];
      const names: string[] = [];
      const source = seg
        .split(/(\{[^{}]+\})/)
        .map((part) => {
          const p = /^\{([^{}]+)\}$/.exec(part);
          if (p) {
            names.push(p[1]!);
            return '([^/]+?)';
          }
          return escapeRe(part);
        })
        .join('');
      let edge = node.patterns.find((e) => e.re.source === `^${source}$`);
      if (!edge) {
        edge = { re: new RegExp(`^${source}$`), names, node: new Node() };
        node.patterns.push(edge);
      }
      node = edge.node;
    } else {
      node.literal ??= new Map();
      let next = node.literal.get(seg);
      if (!next) {
        next = new Node();
        node.literal.set(seg, next);
      }
      node = next;
    }
  }
  node.ops ??= new Map();
  node.ops.set(op.method as HttpMethod, target);
}

function finalize(node: Node): void {
  if (node.ops) {
    const methods = [...node.ops.keys()].map((m) => m.toUpperCase());
    if (node.ops.has('get') && !node.ops.has('head')) methods.push('HEAD');
    node.allow = methods.sort().join(', ');
  }
  node.literal?.forEach(finalize);
  if (node.param) finalize(node.param.node);
  node.patterns?.forEach((e) => finalize(e.node));
}

/** Walks segments of `path` starting at index `i` (just after a '/'). */
function walk(node: Node, path: string, i: number, params: Record<string, string>): Node | undefined {
  if (i > path.length) return node;
  let end = path.indexOf('/', i);
  if (end === -1) end = path.length;
  const seg = path.slice(i, end);
  if (seg === '' && end === path.length) {
    // Trailing slash or root: '/' maps to the node for template '/'.
    return i === 1 ? (node.literal?.get('') ?? node) : undefined;
  }
  const lit = node.literal?.get(seg);
  if (lit) {
    const found = end === path.length ? lit : walk(lit, path, end + 1, params);
    if (found?.ops) return found;
  }
  if (node.patterns) {
    for (const edge of node.patterns) {
      const m = edge.re.exec(seg);
      if (!m) continue;
      const found = end === path.length ? edge.node : walk(edge.node, path, end + 1, params);
      if (found?.ops) {
        edge.names.forEach((n, k) => (params[n] = m[k + 1]!));
        return found;
      }
    }
  }
  if (node.param && seg !== '') {
    const found = end === path.length ? node.param.node : walk(node.param.node, path, end + 1, params);
    if (found?.ops) {
      params[node.param.name] = seg;
      return found;
    }
  }
  return undefined;
}
