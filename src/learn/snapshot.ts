import type { PiiKind, SegmentClass, StringFormat } from './classify.ts';
import {
  BodyStats,
  Learner,
  OperationStats,
  ParamStats,
  type Credential,
  type LearnStats,
  type SkipReason,
} from './learner.ts';
import { Shape } from './shape.ts';

/**
 * What the store keeps of a learner (`rampart start` with `mode: learn` / `learn: true`):
 * the confirmed operations in their folded form, with the same shapes and counts the
 * document is written from — never a body, a token, a cookie value, a segment that was not
 * confirmed or that folded into a parameter, nor any value `mayKeepValue` refuses (docs/learn.md
 * "Privacy"). A snapshot is plain JSON; `absorb` merges one into a learner, so several
 * processes (or flush periods) add up: restore = absorb into a fresh learner.
 */
export const SNAPSHOT_VERSION = 1;

type Pairs<K, V> = Array<[K, V]>;

interface ShapeJson {
  n: number;
  k?: Pairs<string, number>;
  len?: [number, number];
  f?: Pairs<string, number>;
  /** Enum candidates (values `mayKeepValue` allowed); null once there could be none. */
  v: Pairs<string, number> | null;
  pii?: Pairs<string, number>;
  num?: [number, number];
  p?: Pairs<string, ShapeJson>;
  i?: ShapeJson;
  items?: [number, number];
  o?: Pairs<string, { samples: number; matches: number }>;
}

interface BodyJson {
  count: number;
  parsed: number;
  shape?: ShapeJson;
}

interface AuthJson {
  calls: number;
  ok: number;
  denied: number;
}

export interface OperationJson {
  method: string;
  /** The folded observation key (`/orders/{}`), and the classes each parameter took. */
  key: string;
  classes: Array<SegmentClass[] | null>;
  calls: number;
  statuses: Pairs<number, number>;
  query: Pairs<string, { count: number; shape: ShapeJson }>;
  headers: Pairs<string, { count: number; shape: ShapeJson }>;
  cookies: Pairs<string, { count: number; shape: ShapeJson }>;
  requestBodies: Pairs<string, BodyJson>;
  responses: Pairs<number, Pairs<string, BodyJson>>;
  anonymous: AuthJson;
  credentials: Pairs<string, AuthJson & { credential: Credential }>;
  roles: Pairs<string, { ok: number; denied: number }>;
  /** Principals as the learner's keyed hashes (the key is never stored): a count, not identities. */
  principals: string[];
  pathOwner: Pairs<number, Pairs<string, { samples: number; matches: number }>>;
  pathPii: Pairs<number, PiiKind[]>;
  exemplars: string[];
  budget: { nodes: number; truncated: number };
}

export interface LearnSnapshot {
  version: typeof SNAPSHOT_VERSION;
  stats: LearnStats;
  seen?: { from: number; to: number };
  roles: string[];
  unconfirmed: number;
  paths: { evicted: number; overflowed: number; opened: number };
  operations: OperationJson[];
}

// JSON has no Infinity: an empty bound (nothing seen) is left out.
const bound = (lo: number, hi: number): [number, number] | undefined =>
  Number.isFinite(lo) && Number.isFinite(hi) ? [lo, hi] : undefined;

function shapeJson(s: Shape): ShapeJson {
  const out: ShapeJson = { n: s.seen, v: s.values ? [...s.values] : null };
  if (s.kinds.size) out.k = [...s.kinds];
  const len = bound(s.minLength, s.maxLength);
  if (len) out.len = len;
  if (s.formats.size) out.f = [...s.formats];
  if (s.pii.size) out.pii = [...s.pii];
  const num = bound(s.minimum, s.maximum);
  if (num) out.num = num;
  if (s.props) out.p = [...s.props].map(([k, p]) => [k, shapeJson(p)]);
  if (s.items) out.i = shapeJson(s.items);
  const items = bound(s.minItems, s.maxItems);
  if (items) out.items = items;
  if (s.owner.size) out.o = [...s.owner].map(([r, f]) => [r, { ...f }]);
  return out;
}

function shapeOf(j: ShapeJson, depth = 0): Shape {
  const s = new Shape();
  if (depth > 64) return s; // a snapshot is ours, but a corrupted one must not recurse without end
  s.seen = j.n;
  for (const [k, n] of j.k ?? []) s.kinds.set(k as Parameters<Shape['kinds']['set']>[0], n);
  if (j.len) [s.minLength, s.maxLength] = j.len;
  for (const [f, n] of j.f ?? []) s.formats.set(f as StringFormat | 'none', n);
  s.values = j.v ? new Map(j.v) : undefined;
  for (const [k, n] of j.pii ?? []) s.pii.set(k as PiiKind, n);
  if (j.num) [s.minimum, s.maximum] = j.num;
  if (j.p) s.props = new Map(j.p.map(([k, p]) => [k, shapeOf(p, depth + 1)]));
  if (j.i) s.items = shapeOf(j.i, depth + 1);
  if (j.items) [s.minItems, s.maxItems] = j.items;
  for (const [r, f] of j.o ?? []) s.owner.set(r, { ...f });
  return s;
}

const bodyJson = (b: BodyStats): BodyJson => ({
  count: b.count,
  parsed: b.parsed,
  ...(b.shape ? { shape: shapeJson(b.shape) } : {}),
});

function bodyOf(j: BodyJson): BodyStats {
  const b = new BodyStats();
  b.count = j.count;
  b.parsed = j.parsed;
  if (j.shape) b.shape = shapeOf(j.shape);
  return b;
}

const paramsJson = (m: Map<string, ParamStats>): OperationJson['query'] =>
  [...m].map(([k, p]) => [k, { count: p.count, shape: shapeJson(p.shape) }]);

function paramsInto(into: Map<string, ParamStats>, j: OperationJson['query']): void {
  for (const [k, p] of j) {
    const ps = new ParamStats();
    ps.count = p.count;
    ps.shape.merge(shapeOf(p.shape));
    into.set(k, ps);
  }
}

function operationJson(op: OperationStats, key: string, classes: Array<SegmentClass[] | undefined>) {
  const j: OperationJson = {
    method: op.method,
    key,
    classes: classes.map((c) => c ?? null),
    calls: op.calls,
    statuses: [...op.statuses],
    query: paramsJson(op.query),
    headers: paramsJson(op.headers),
    cookies: paramsJson(op.cookies),
    requestBodies: [...op.requestBodies].map(([ct, b]) => [ct, bodyJson(b)]),
    responses: [...op.responses].map(([s, m]) => [s, [...m].map(([ct, b]) => [ct, bodyJson(b)])]),
    anonymous: { ...op.anonymous },
    credentials: [...op.credentials].map(([k, c]) => [k, { ...c }]),
    roles: [...op.roles].map(([r, c]) => [r, { ...c }]),
    principals: [...op.principals],
    pathOwner: [...op.pathOwner].map(([i, m]) => [i, [...m].map(([r, f]) => [r, { ...f }])]),
    pathPii: [...op.pathPii].map(([i, k]) => [i, [...k]]),
    exemplars: [...op.exemplars],
    budget: { ...op.budget },
  };
  return j;
}

function operationOf(j: OperationJson, key: string): OperationStats {
  const op = new OperationStats(j.method, key);
  op.calls = j.calls;
  op.useful = true;
  for (const [s, n] of j.statuses) op.statuses.set(s, n);
  paramsInto(op.query, j.query);
  paramsInto(op.headers, j.headers);
  paramsInto(op.cookies, j.cookies);
  for (const [ct, b] of j.requestBodies) op.requestBodies.set(ct, bodyOf(b));
  for (const [s, m] of j.responses) op.responses.set(s, new Map(m.map(([ct, b]) => [ct, bodyOf(b)])));
  Object.assign(op.anonymous, j.anonymous);
  for (const [k, c] of j.credentials) op.credentials.set(k, { ...c });
  for (const [r, c] of j.roles) op.roles.set(r, { ...c });
  for (const p of j.principals) op.principals.add(p);
  for (const [i, m] of j.pathOwner) op.pathOwner.set(i, new Map(m.map(([r, f]) => [r, { ...f }])));
  for (const [i, k] of j.pathPii) op.pathPii.set(i, new Set(k));
  op.exemplars.push(...j.exemplars.slice(0, 3));
  op.budget.nodes = j.budget.nodes;
  op.budget.truncated = j.budget.truncated;
  return op;
}

/** The learner's confirmed operations, folded and merged by folded key, as plain JSON. */
export function snapshot(learner: Learner): LearnSnapshot {
  const byKey = new Map<string, { op: OperationStats; classes: Array<SegmentClass[] | undefined> }>();
  for (const op of learner.operations.values()) {
    const c = learner.trie.canonical(op.key);
    const id = `${op.method} ${c.key}`;
    const known = byKey.get(id);
    if (known) {
      known.op.mergeAs(op, c.key);
      c.classes.forEach((cls, i) => {
        if (cls) known.classes[i] = [...new Set([...(known.classes[i] ?? []), ...cls])];
      });
    } else {
      const copy = new OperationStats(op.method, c.key);
      copy.mergeAs(op, c.key);
      byKey.set(id, { op: copy, classes: c.classes });
    }
  }
  const seen = learner.seenMs();
  const t = learner.trie.stats;
  return {
    version: SNAPSHOT_VERSION,
    stats: structuredClone(learner.stats),
    ...(seen ? { seen } : {}),
    roles: [...learner.allRoles],
    unconfirmed: learner.unconfirmed(),
    paths: { evicted: t.evicted, overflowed: t.overflowed, opened: t.opened },
    operations: [...byKey.values()].map(({ op, classes }) => operationJson(op, op.key, classes)),
  };
}

/** Adds a snapshot's facts to a learner (restoring = absorbing into a fresh one). */
export function absorb(learner: Learner, snap: LearnSnapshot): void {
  if (snap.version !== SNAPSHOT_VERSION) throw new Error(`unknown learn snapshot version ${snap.version}`);
  const s = learner.stats;
  s.exchanges += snap.stats.exchanges;
  s.learned += snap.stats.learned;
  s.upstreamErrors += snap.stats.upstreamErrors;
  if (snap.stats.lastUpstreamError !== undefined && s.lastUpstreamError === undefined)
    s.lastUpstreamError = snap.stats.lastUpstreamError;
  for (const [k, n] of Object.entries(snap.stats.skipped) as Array<[SkipReason, number]>)
    s.skipped[k] = (s.skipped[k] ?? 0) + n;
  if (snap.seen) learner.widenSeen(snap.seen.from, snap.seen.to);
  for (const r of snap.roles) learner.allRoles.add(r);
  learner.addUnconfirmed(snap.unconfirmed);
  const t = learner.trie.stats;
  t.evicted += snap.paths.evicted;
  t.overflowed += snap.paths.overflowed;
  t.opened += snap.paths.opened;
  for (const j of snap.operations) {
    const key = learner.trie.place(
      j.key,
      j.classes.map((c) => c ?? undefined),
    );
    if (key === undefined) {
      learner.skip('hostile-path');
      continue;
    }
    const id = `${j.method} ${key}`;
    const op = operationOf(j, key);
    const known = learner.operations.get(id);
    if (known) known.merge(op);
    else if (learner.operations.size >= learner.limits.maxOperations) learner.skip('operations-full');
    else learner.operations.set(id, op);
  }
}

/** A learner holding a snapshot (what `learn export` writes the document from). */
export function restore(snap: LearnSnapshot, learner: Learner = new Learner()): Learner {
  absorb(learner, snap);
  return learner;
}
