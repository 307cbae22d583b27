/**
 * What the gateway would run on each operation, described without serving anything: the
 * same `Router` + `ChainCompiler` a `Runtime` builds, so the policy names listed for an
 * operation are exactly those whose `forRoute` compiled hooks for it. The posture report
 * reads this (which policies cover which share of operations); nothing is listened on and
 * no upstream is contacted.
 */
import { ChainCompiler } from './chain.ts';
import type { Policy, VersionLifecycle } from './policy.ts';
import { Router, type RouterVersionInput } from './router.ts';
import { versionKey, type LoadedApi } from './runtime.ts';

/** One operation and its compiled chain. */
export interface OperationChain {
  api: string;
  /** Base path of the version, e.g. `/v2`. */
  base: string;
  /** `info.version` of the document. */
  version: string;
  /** Upper-case HTTP method. */
  method: string;
  /** Path template of the document, e.g. `/records/{recordId}`. */
  template: string;
  /** `METHOD /base/template`, the form findings use. */
  operation: string;
  /** Policy names of the compiled chain in run order (pre-routing ones included). */
  policies: string[];
  /** `x-rampart` merged from document, path and operation. */
  rampart: Readonly<Record<string, unknown>>;
  /** Effective OpenAPI security requirements (empty = declared public). */
  security: ReadonlyArray<Record<string, string[]>>;
  /** The operation's own `security: []` (explicitly public in the document). */
  ownSecurityEmpty: boolean;
  /** Names of path parameters (object identifiers). */
  pathParams: string[];
  /** The document marks the operation deprecated. */
  deprecated: boolean;
  lifecycle: VersionLifecycle;
}

/**
 * Every operation of every loaded version with the policies of its compiled chain.
 * The caller owns `policies` (and closes them).
 */
export function describeChains(apis: readonly LoadedApi[], policies: readonly Policy[]): OperationChain[] {
  const compiler = new ChainCompiler(policies);
  const out: OperationChain[] = [];
  const inputs: RouterVersionInput[] = apis.flatMap((api) =>
    api.versions.map((v) => ({
      key: versionKey(api.config.name, v.base),
      api: api.config.name,
      base: v.base,
      document: v.document,
      ...(v.lifecycle ? { lifecycle: v.lifecycle } : {}),
    })),
  );
  new Router(inputs, (route) => {
    const chain = compiler.forRoute(route);
    const op = route.operation;
    const own = op.raw?.security;
    out.push({
      api: route.api,
      base: route.base,
      version: route.version,
      method: op.method.toUpperCase(),
      template: route.template,
      operation: `${op.method.toUpperCase()} ${route.base === '/' ? '' : route.base}${route.template}`,
      policies: chain.entries.map((e) => e.name),
      rampart: route.rampart,
      security: op.security,
      ownSecurityEmpty: Array.isArray(own) && own.length === 0,
      pathParams: op.parameters.filter((p) => p.in === 'path').map((p) => p.name),
      deprecated: op.deprecated,
      lifecycle: route.lifecycle,
    });
    return chain;
  });
  return out;
}
