/**
 * `rampart inventory` and the admin listener's `/inventory`: every API, version, its
 * lifecycle, every operation with the protection configured for it (security schemes,
 * MFA, roles, owner rule, rate limit) and, from traffic, when it was last called —
 * plus the shadow endpoints probed and the consumers still on deprecated versions.
 * Operations with no security requirement are flagged (`public: true`, `unprotected`
 * unless the document marks them `x-rampart.public`).
 */
import { lifecycleState, type LifecycleState } from '../core/lifecycle.ts';
import type { OpenApiOperation } from '../core/openapi.ts';
import { versionLifecycle, type ApiInput } from './changelog.ts';
import type { DeprecatedUsage, ShadowEndpoint, TrafficSnapshot } from './traffic.ts';

export interface InventoryOperation {
  method: string;
  /** Base + template, e.g. `/v2/records/{recordId}`. */
  path: string;
  operationId?: string;
  deprecated: boolean;
  /** Security scheme alternatives, e.g. `["bearerAuth"]`; empty = no authentication. */
  security: string[];
  /** No security requirement and not marked `x-rampart.public: true`. */
  unprotected: boolean;
  mfa?: string;
  roles?: string[];
  owner?: string;
  rateLimit?: string;
  calls: number;
  lastSeen?: string;
}

export interface InventoryVersion {
  base: string;
  version: string;
  state: LifecycleState;
  deprecated?: string;
  sunset?: string;
  successor?: string;
  lastSeen?: string;
  operations: InventoryOperation[];
}

export interface Inventory {
  generatedAt: string;
  apis: Array<{ name: string; versions: InventoryVersion[] }>;
  shadowEndpoints: Array<
    Omit<ShadowEndpoint, 'firstSeen' | 'lastSeen'> & { firstSeen: string; lastSeen: string }
  >;
  deprecatedUsage: Array<
    Omit<DeprecatedUsage, 'firstSeen' | 'lastSeen'> & {
      firstSeen: string;
      lastSeen: string;
      state: LifecycleState;
    }
  >;
  /** True when traffic figures come from the store; false when only the configuration was read. */
  traffic: boolean;
}

const iso = (t: number) => new Date(t).toISOString();

function describe(v: unknown): string | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || v === true) return String(v);
  return JSON.stringify(v);
}

function operationEntry(
  base: string,
  op: OpenApiOperation,
  traffic: Map<string, { calls: number; lastSeen: number }>,
): InventoryOperation {
  const x = op.rampart;
  const security = op.security.map((req) => Object.keys(req).join('+') || 'optional');
  const seen = traffic.get(`${base} ${op.method.toUpperCase()} ${op.path}`);
  const e: InventoryOperation = {
    method: op.method.toUpperCase(),
    path: base + op.path,
    deprecated: op.deprecated,
    security,
    unprotected: op.security.length === 0 && x.public !== true,
    calls: seen?.calls ?? 0,
  };
  if (op.operationId) e.operationId = op.operationId;
  const mfa = describe(x.mfa);
  if (mfa) e.mfa = mfa;
  if (Array.isArray(x.roles)) e.roles = x.roles.map(String);
  const owner = x.owner as { lookup?: string; field?: string; claim?: string } | undefined;
  if (owner && typeof owner === 'object')
    e.owner = owner.lookup
      ? `${owner.field ?? '?'} of ${owner.lookup} == ${owner.claim ?? 'sub'}`
      : describe(owner);
  const rl = x.rateLimit as { limit?: number; window?: number | string; per?: unknown } | undefined;
  if (rl && typeof rl === 'object')
    e.rateLimit =
      rl.limit !== undefined
        ? `${rl.limit}/${rl.window ?? '?'}s per ${describe(rl.per) ?? 'client'}`
        : describe(rl);
  if (seen) e.lastSeen = iso(seen.lastSeen);
  return e;
}

export function buildInventory(
  apis: ApiInput[],
  traffic: TrafficSnapshot | undefined,
  now: number,
): Inventory {
  const byOp = new Map<string, { calls: number; lastSeen: number }>();
  for (const t of traffic?.operations ?? []) byOp.set(`${t.base} ${t.method} ${t.route}`, t);
  const states = new Map<string, LifecycleState>();
  const inv: Inventory = {
    generatedAt: iso(now),
    apis: apis.map((api) => ({
      name: api.name,
      versions: api.versions.map((v) => {
        const state = lifecycleState(versionLifecycle(v), now);
        states.set(`${api.name} ${v.base}`, state);
        const operations = v.document.operations.map((op) => operationEntry(v.base, op, byOp));
        const last = Math.max(
          ...(traffic?.operations
            .filter((t) => t.api === api.name && t.base === v.base)
            .map((t) => t.lastSeen) ?? []),
        );
        const entry: InventoryVersion = { base: v.base, version: v.document.version, state, operations };
        if (v.deprecated) entry.deprecated = v.deprecated;
        if (v.sunset) entry.sunset = v.sunset;
        if (v.successor) entry.successor = v.successor;
        if (Number.isFinite(last)) entry.lastSeen = iso(last);
        return entry;
      }),
    })),
    shadowEndpoints: (traffic?.shadow ?? []).map((s) => ({
      ...s,
      firstSeen: iso(s.firstSeen),
      lastSeen: iso(s.lastSeen),
    })),
    deprecatedUsage: (traffic?.deprecatedUsage ?? []).map((u) => ({
      ...u,
      firstSeen: iso(u.firstSeen),
      lastSeen: iso(u.lastSeen),
      state: states.get(`${u.api} ${u.base}`) ?? 'active',
    })),
    traffic: traffic !== undefined,
  };
  return inv;
}

function protection(o: InventoryOperation): string {
  const parts: string[] = [];
  parts.push(o.security.length ? `auth ${o.security.join(' | ')}` : o.unprotected ? 'NO AUTH' : 'public');
  if (o.mfa) parts.push(`mfa ${o.mfa}`);
  if (o.roles) parts.push(`roles ${o.roles.join(',')}`);
  if (o.owner) parts.push(`owner ${o.owner}`);
  if (o.rateLimit) parts.push(`limit ${o.rateLimit}`);
  return parts.join('; ');
}

export function inventoryText(inv: Inventory): string {
  const out: string[] = [];
  for (const api of inv.apis) {
    out.push(`API ${api.name}`);
    for (const v of api.versions) {
      const dates = [
        v.deprecated && `deprecated ${v.deprecated}`,
        v.sunset && `sunset ${v.sunset}`,
        v.successor && `successor ${v.successor}`,
      ]
        .filter(Boolean)
        .join(', ');
      out.push(
        `  ${v.base} ${v.version} [${v.state}]${dates ? ' ' + dates : ''}${inv.traffic ? ` last seen ${v.lastSeen ?? 'never'}` : ''}`,
      );
      for (const o of v.operations)
        out.push(
          `    ${o.unprotected ? '!' : ' '} ${o.method.padEnd(6)} ${o.path}  ${protection(o)}${inv.traffic ? `  calls ${o.calls}, last ${o.lastSeen ?? 'never'}` : ''}`,
        );
    }
  }
  const unprotected = inv.apis.flatMap((a) =>
    a.versions.flatMap((v) => v.operations.filter((o) => o.unprotected)),
  );
  out.push('', `${unprotected.length} operation(s) without a security requirement (marked !).`);
  if (!inv.traffic)
    out.push(
      'Traffic: not read (no store); last-seen, shadow endpoints and deprecated usage need `rampart start` to have run.',
    );
  else {
    out.push('', `Shadow endpoints probed (${inv.shadowEndpoints.length}):`);
    for (const s of inv.shadowEndpoints)
      out.push(
        `  ${s.sample}  ${s.hits} hit(s), ${s.reason}, last ${s.lastSeen}, from ${s.ips.join(', ') || '?'}`,
      );
    out.push('', `Consumers of deprecated versions (${inv.deprecatedUsage.length}):`);
    for (const u of inv.deprecatedUsage)
      out.push(
        `  ${u.api} ${u.base} [${u.state}]  ${u.consumerKind} ${u.consumer}: ${u.calls} call(s), last ${u.lastSeen} (${u.lastRoute})`,
      );
  }
  return out.join('\n');
}

const md = (s: string) => s.replace(/[\\`*_{}[\]<>|]/g, (c) => `\\${c}`);

export function inventoryMarkdown(inv: Inventory): string {
  const out = ['# API inventory', '', `Generated ${inv.generatedAt}.`];
  for (const api of inv.apis) {
    out.push('', `## ${md(api.name)}`);
    for (const v of api.versions) {
      out.push('', `### \`${v.base}\` ${md(v.version)} — ${v.state}`, '');
      const facts = [
        v.deprecated && `deprecated ${v.deprecated}`,
        v.sunset && `sunset ${v.sunset}`,
        v.successor && `successor \`${v.successor}\``,
      ].filter(Boolean);
      if (facts.length) out.push(facts.join(' · '), '');
      out.push('| Operation | Protection | Calls | Last seen |', '|---|---|---:|---|');
      for (const o of v.operations)
        out.push(
          `| ${o.unprotected ? '⚠ ' : ''}\`${o.method} ${o.path}\` | ${md(protection(o))} | ${o.calls} | ${o.lastSeen ?? '—'} |`,
        );
    }
  }
  if (inv.traffic) {
    out.push(
      '',
      '## Shadow endpoints',
      '',
      '| Request | Hits | Reason | Last seen | Sources |',
      '|---|---:|---|---|---|',
    );
    for (const s of inv.shadowEndpoints)
      out.push(`| \`${md(s.sample)}\` | ${s.hits} | ${s.reason} | ${s.lastSeen} | ${md(s.ips.join(', '))} |`);
    out.push(
      '',
      '## Consumers of deprecated versions',
      '',
      '| API | Version | Consumer | Calls | Last seen |',
      '|---|---|---|---:|---|',
    );
    for (const u of inv.deprecatedUsage)
      out.push(
        `| ${md(u.api)} | \`${u.base}\` (${u.state}) | ${u.consumerKind} ${md(u.consumer)} | ${u.calls} | ${u.lastSeen} |`,
      );
  }
  return out.join('\n') + '\n';
}
