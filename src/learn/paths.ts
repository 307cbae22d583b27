import {
  classifySegment,
  hasControl,
  foldsAtOnce,
  parameterName,
  segmentSchema,
  type SegmentClass,
} from './classify.ts';

/**
 * Path-template folding. Every observed path walks a segment trie: integers, UUIDs, hashes,
 * dates and long tokens go to the node's parameter child at once; other segments become
 * literal children ("candidates"). At build time a node with at least `slugFoldAt` slug
 * children or `fileFoldAt` file-name children folds them into its parameter; a node that
 * would get more than `highCardinality` literal children opens (later new segments go to the
 * parameter). Literal children never confirmed by a useful answer (2xx, 3xx, 401, 403) are
 * evicted least recently used first, so a scanner's millions of 404 paths neither open a node
 * nor grow the trie past `maxNodes`. Thresholds: docs/learn.md.
 */
export interface PathLimits {
  /** Distinct literal children after which a node opens (its later new segments are parameters). */
  highCardinality: number;
  /** Slug-looking children (`post-2024-recap`) of one node that make them a parameter. */
  slugFoldAt: number;
  /** File-name children (`leaflet.txt`) of one node that make them a parameter. */
  fileFoldAt: number;
  /** Trie nodes in all; beyond, new segments fold into the parameter. */
  maxNodes: number;
  /** Longer paths (in segments) are skipped as hostile. */
  maxSegments: number;
  /** Longer segments (decoded characters) are skipped as hostile. */
  maxSegmentLength: number;
}

export const DEFAULT_PATH_LIMITS: PathLimits = {
  highCardinality: 50,
  slugFoldAt: 3,
  fileFoldAt: 2,
  maxNodes: 10_000,
  maxSegments: 32,
  maxSegmentLength: 200,
};

/** The segment marker of a parameter in an observation key (never a decoded segment: braces are refused). */
export const PARAM = '{}';

class Node {
  readonly literals = new Map<string, Node>();
  param: Node | undefined;
  /** Classes of the segments that reached this node (as a parameter: which values it took). */
  readonly classes = new Set<SegmentClass>();
  open = false;
  confirmed = false;
  /** LRU tick of the last visit. */
  used = 0;
  constructor(
    readonly parent: Node | undefined,
    readonly segment: string,
  ) {}
}

export type PathObservation =
  { key: string; segments: string[] } | { rejected: 'hostile-path' | 'bad-escape' };

export interface PathStats {
  nodes: number;
  evicted: number;
  overflowed: number;
  opened: number;
}

/** A final template segment: a literal, or a parameter with its name and schema. */
export type TemplateSegment = { literal: string } | { param: string; schema: Record<string, unknown> };

export class PathTrie {
  private readonly root = new Node(undefined, '');
  private tick = 0;
  readonly stats: PathStats = { nodes: 1, evicted: 0, overflowed: 0, opened: 0 };

  constructor(readonly limits: PathLimits = DEFAULT_PATH_LIMITS) {}

  /** Splits and decodes a path; refuses hostile ones (too long, control characters, braces, bad escapes). */
  split(path: string): string[] | { rejected: 'hostile-path' | 'bad-escape' } {
    const raw = path.split('/').slice(1);
    if (raw.length > this.limits.maxSegments) return { rejected: 'hostile-path' };
    const out: string[] = [];
    for (const r of raw) {
      let seg: string;
      try {
        seg = decodeURIComponent(r);
      } catch {
        return { rejected: 'bad-escape' };
      }
      if (seg.length > this.limits.maxSegmentLength || hasControl(seg) || /[{}/\\]/.test(seg))
        return { rejected: 'hostile-path' };
      out.push(seg);
    }
    // A trailing slash is the same resource (`/orders/` → `/orders`), the root stays `/`.
    if (out.length > 1 && out[out.length - 1] === '') out.pop();
    return out;
  }

  /** Confirmed paths already walked (raw path → observation), so a busy operation costs one lookup. */
  private readonly walked = new Map<string, { key: string; segments: string[] }>();

  /** Walks one path; `useful` = the answer confirms the path exists (2xx, 3xx, 401, 403). */
  observe(path: string, useful: boolean): PathObservation {
    const hit = this.walked.get(path);
    if (hit) return hit;
    const result = this.walk(path, useful);
    // Only confirmed walks are remembered: their nodes are never evicted, so the key stays valid.
    if (useful && 'key' in result && path.length <= 512) {
      if (this.walked.size >= 1024) this.walked.delete(this.walked.keys().next().value as string);
      this.walked.set(path, result);
    }
    return result;
  }

  private walk(path: string, useful: boolean): PathObservation {
    const segments = this.split(path);
    if (!Array.isArray(segments)) return segments;
    const tick = ++this.tick;
    const key: string[] = [];
    let node = this.root;
    const visited: Node[] = [node];
    for (const seg of segments) {
      const cls = seg === '' ? 'word' : classifySegment(seg);
      let next: Node | undefined;
      // A parameter that already took slugs or file names (a folded node restored from the
      // store, or an opened one) takes the later ones too.
      if (foldsAtOnce(cls) || (node.param?.classes.has(cls) && (cls === 'slug' || cls === 'file')))
        next = this.paramOf(node);
      else {
        next = node.literals.get(seg);
        if (!next && !node.open) next = this.addLiteral(node, seg);
        if (!next) next = this.paramOf(node);
      }
      next.classes.add(cls);
      next.used = tick;
      key.push(next === node.param ? PARAM : seg);
      visited.push(next);
      node = next;
    }
    if (useful) for (const n of visited) n.confirmed = true;
    return { key: '/' + key.join('/'), segments };
  }

  private paramOf(node: Node): Node {
    if (!node.param) {
      node.param = new Node(node, PARAM);
      this.stats.nodes++;
    }
    return node.param;
  }

  private addLiteral(node: Node, seg: string): Node | undefined {
    if (node.literals.size >= this.limits.highCardinality && !this.evictFrom(node)) {
      node.open = true;
      this.stats.opened++;
      return undefined;
    }
    if (this.stats.nodes >= this.limits.maxNodes && !this.evictFrom(node) && !this.evictAnywhere()) {
      this.stats.overflowed++;
      return undefined;
    }
    const child = new Node(node, seg);
    node.literals.set(seg, child);
    this.stats.nodes++;
    return child;
  }

  /** Evicts the least recently used unconfirmed literal child of `node` (with its subtree). */
  private evictFrom(node: Node): boolean {
    let victim: Node | undefined;
    for (const c of node.literals.values()) if (!c.confirmed && (!victim || c.used < victim.used)) victim = c;
    if (!victim) return false;
    node.literals.delete(victim.segment);
    this.stats.nodes -= count(victim);
    this.stats.evicted++;
    return true;
  }

  /** Evicts the least recently used unconfirmed literal node of the whole trie. */
  private evictAnywhere(): boolean {
    let victim: Node | undefined;
    const stack = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      for (const c of n.literals.values()) {
        if (!c.confirmed && (!victim || c.used < victim.used)) victim = c;
        stack.push(c);
      }
      if (n.param) stack.push(n.param);
    }
    if (!victim) return false;
    victim.parent!.literals.delete(victim.segment);
    this.stats.nodes -= count(victim);
    this.stats.evicted++;
    return true;
  }

  /**
   * An observation key in its folded form (the literals that fold at build time become
   * parameters) with the classes each parameter took: what the store keeps of the trie
   * (snapshot.ts) — no unconfirmed or folded-away segment value.
   */
  canonical(key: string): { key: string; classes: Array<SegmentClass[] | undefined> } {
    const segs = key === '/' ? [''] : key.split('/').slice(1);
    const out: string[] = [];
    const classes: Array<SegmentClass[] | undefined> = [];
    let node: Node | undefined = this.root;
    for (const seg of segs) {
      const next: Node | undefined = node ? (seg === PARAM ? node.param : node.literals.get(seg)) : undefined;
      if (seg === PARAM || (node !== undefined && this.folded(node).has(seg))) {
        out.push(PARAM);
        classes.push([...(next?.classes ?? [])]);
      } else {
        out.push(seg);
        classes.push(undefined);
      }
      node = next;
    }
    return { key: '/' + out.join('/'), classes };
  }

  /**
   * Walks a canonical key from the store into the trie (confirmed), its parameters taking the
   * given classes; returns the observation key it lands on (a node that opened meanwhile
   * turns a literal into a parameter), or undefined when the trie is full.
   */
  place(key: string, classes: ReadonlyArray<readonly SegmentClass[] | undefined>): string | undefined {
    const segs = key === '/' ? [''] : key.split('/').slice(1);
    if (segs.length > this.limits.maxSegments) return undefined;
    const out: string[] = [];
    let node = this.root;
    const visited: Node[] = [];
    segs.forEach((seg, i) => {
      let next: Node | undefined;
      if (seg === PARAM) next = this.paramOf(node);
      else {
        next = node.literals.get(seg) ?? (node.open ? undefined : this.addLiteral(node, seg));
        next ??= this.paramOf(node);
        if (next !== node.param) next.classes.add(seg === '' ? 'word' : classifySegment(seg));
      }
      for (const c of classes[i] ?? []) if (next === node.param) next.classes.add(c);
      out.push(next === node.param ? PARAM : seg);
      visited.push(next);
      node = next;
    });
    for (const n of visited) n.confirmed = true;
    return '/' + out.join('/');
  }

  /** Literal children of `node` that fold into its parameter at build time. */
  private folded(node: Node): Set<string> {
    const slugs: string[] = [];
    const files: string[] = [];
    for (const [seg, c] of node.literals) {
      if (c.classes.has('slug')) slugs.push(seg);
      else if (c.classes.has('file')) files.push(seg);
    }
    const out = new Set<string>();
    if (slugs.length >= this.limits.slugFoldAt) for (const s of slugs) out.add(s);
    if (files.length >= this.limits.fileFoldAt) for (const f of files) out.add(f);
    return out;
  }

  /**
   * The final template of an observation key: parameters named after the preceding literal
   * segment (`/orders/{orderId}`), unique within the template.
   */
  template(key: string): TemplateSegment[] {
    const segs = key === '/' ? [''] : key.split('/').slice(1);
    const out: TemplateSegment[] = [];
    const names = new Set<string>();
    let node: Node | undefined = this.root;
    let previous: string | undefined;
    for (const seg of segs) {
      const isParam = seg === PARAM || (node !== undefined && this.folded(node).has(seg));
      const next: Node | undefined = node ? (seg === PARAM ? node.param : node.literals.get(seg)) : undefined;
      if (isParam) {
        let name = parameterName(previous);
        for (let i = 2; names.has(name); i++) name = `${parameterName(previous)}${i}`;
        names.add(name);
        const classes: Set<SegmentClass> =
          seg === PARAM ? (next?.classes ?? new Set()) : new Set(node?.literals.get(seg)?.classes ?? []);
        out.push({ param: name, schema: segmentSchema(classes) });
        previous = undefined;
      } else {
        out.push({ literal: seg });
        previous = seg;
      }
      node = next;
    }
    return out;
  }
}

function count(n: Node): number {
  let c = 1;
  for (const ch of n.literals.values()) c += count(ch);
  if (n.param) c += count(n.param);
  return c;
}

/** `/orders/{orderId}` from template segments. */
export function templateText(t: readonly TemplateSegment[]): string {
  return '/' + t.map((s) => ('literal' in s ? s.literal : `{${s.param}}`)).join('/');
}
