import { createHash } from 'node:crypto';
import { suggest } from '../../core/config-loader.ts';
import type { RampartEvent } from '../../core/events.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import { DEFAULT_RULES } from './defaults.ts';
import { fieldOf, GROUP_LABELS, MATCH_FIELDS, UNBOUNDED } from './fields.ts';
import type { Filter, RuleConfig } from './schema.ts';
import { DistinctWindow, SlidingCounter } from './window.ts';

export type Severity = 'critical' | 'warning' | 'info';

/** An alert instance: one rule, one group. Times are epoch ms. */
export interface Alert {
  /** Stable fingerprint of rule + group labels. */
  fingerprint: string;
  rule: string;
  severity: Severity;
  state: 'pending' | 'firing' | 'resolved';
  /** `alertname`, `severity` and the group's labels. */
  labels: Record<string, string>;
  summary: string;
  description?: string;
  value: number;
  threshold?: number;
  startsAt: number;
  endsAt?: number;
  /** Why: the numbers behind the decision (baseline, score … for anomalies). */
  explanation?: Record<string, unknown>;
}

export type AlertListener = (alert: Alert) => void;

const MAX_WINDOW = 86_400_000 + 3_600_000;

export interface RuleError {
  /** Path inside the rules list: [index, field]. */
  segments: string[];
  message: string;
}

type Test = (e: RampartEvent) => boolean;

interface CompiledRule {
  cfg: RuleConfig;
  id: string;
  kind: NonNullable<RuleConfig['kind']>;
  match: Test;
  denominator?: Test;
  fields: string[];
  window: number;
  threshold: number;
  minEvents: number;
  groupBy: string[];
  maxGroups: number;
  forMs: number;
  cooldown: number;
  resolveAfter: number;
  severity: Severity;
  groups: Map<string, Group>;
  /** `new`: values seen in the process's life (bounded). */
  seen?: Map<string, true>;
  overflow: number;
}

interface Group {
  key: string;
  labels: Record<string, string>;
  num: SlidingCounter;
  den?: SlidingCounter;
  distinct?: DistinctWindow;
  last?: RampartEvent;
  lastMatchAt: number;
  state: 'inactive' | 'pending' | 'firing';
  since: number;
  falseSince?: number;
  resolvedAt?: number;
  alert?: Alert;
}

function compileCondition(field: string, cond: unknown): Test {
  if (Array.isArray(cond)) {
    const set = new Set(cond as unknown[]);
    return (e) => set.has(fieldOf(e, field));
  }
  if (cond !== null && typeof cond === 'object') {
    const c = cond as Record<string, unknown>;
    return (e) => {
      const v = fieldOf(e, field);
      if (c.present !== undefined && (v !== undefined) !== c.present) return false;
      if (c.present === false) return true;
      if (v === undefined) return false;
      if (typeof c.lt === 'number' && !(typeof v === 'number' && v < c.lt)) return false;
      if (typeof c.lte === 'number' && !(typeof v === 'number' && v <= c.lte)) return false;
      if (typeof c.gt === 'number' && !(typeof v === 'number' && v > c.gt)) return false;
      if (typeof c.gte === 'number' && !(typeof v === 'number' && v >= c.gte)) return false;
      if (typeof c.prefix === 'string' && !String(v).startsWith(c.prefix)) return false;
      if (typeof c.suffix === 'string' && !String(v).endsWith(c.suffix)) return false;
      return true;
    };
  }
  return (e) => fieldOf(e, field) === cond;
}

function compileFilters(f: Filter | Filter[]): Test {
  const list = (Array.isArray(f) ? f : [f]).map((one) => {
    const tests = Object.entries(one).map(([k, c]) => compileCondition(k, c));
    return (e: RampartEvent) => tests.every((t) => t(e));
  });
  return list.length === 1 ? list[0]! : (e) => list.some((t) => t(e));
}

function suggestion(word: string, from: readonly string[]): string {
  const near = suggest(word, from);
  return near ? ` (did you mean '${near}'?)` : '';
}

/**
 * The effective rule list: the shipped defaults (unless `defaults` is false), each
 * overridden field by field by a configured rule of the same id, then the custom rules.
 */
export function effectiveRules(configured: readonly RuleConfig[], defaults = true): RuleConfig[] {
  const byId = new Map<string, RuleConfig>();
  if (defaults) for (const r of DEFAULT_RULES) byId.set(r.id, r);
  for (const r of configured) byId.set(r.id, { ...byId.get(r.id), ...r });
  return [...byId.values()];
}

/**
 * What JSON Schema cannot say about rules: custom rules need a kind, a match and a
 * window; windows between 1 s and 24 h; `for` shorter than an hour; groupBy only bounded
 * labels; fields that events have. `index` maps a rule id to its position in the file.
 */
export function ruleErrors(configured: readonly RuleConfig[], defaults = true): RuleError[] {
  const errors: RuleError[] = [];
  const shipped = new Set(defaults ? DEFAULT_RULES.map((r) => r.id) : []);
  const seen = new Map<string, number>();
  configured.forEach((r, i) => {
    const at = (field: string, message: string) => errors.push({ segments: [String(i), field], message });
    const prev = seen.get(r.id);
    if (prev !== undefined) at('id', `duplicate rule id '${r.id}' (also rules/${prev})`);
    seen.set(r.id, i);
    const eff = shipped.has(r.id) ? { ...DEFAULT_RULES.find((d) => d.id === r.id), ...r } : r;
    if (eff.enabled === false) return;
    if (!shipped.has(r.id)) {
      if (!eff.kind)
        at('kind', `custom rule '${r.id}' needs a kind (threshold, rate, ratio, distinct, new, event)`);
      if (!eff.match) at('match', `custom rule '${r.id}' needs a match filter`);
      if (!eff.window) at('window', `custom rule '${r.id}' needs a window (e.g. 1m)`);
    }
    const kind = eff.kind;
    if (eff.window) {
      const w = parseDuration(eff.window);
      if (w < 1000 || w > MAX_WINDOW)
        at(
          'window',
          `window ${eff.window} is impossible: use 1s to 24h (sliding windows are kept in memory)`,
        );
    }
    if (eff.for && eff.window && parseDuration(eff.for) > 3_600_000)
      at(
        'for',
        `for ${eff.for} is longer than an hour; the condition is evaluated over the window, use a longer window`,
      );
    if (
      (kind === 'threshold' || kind === 'rate' || kind === 'ratio' || kind === 'distinct') &&
      eff.threshold === undefined
    )
      at('threshold', `a ${kind} rule needs a threshold`);
    if (kind === 'ratio') {
      if (!eff.denominator) at('denominator', 'a ratio rule needs a denominator filter');
      if (eff.threshold !== undefined && eff.threshold > 1)
        at('threshold', `a ratio threshold is 0..1, got ${eff.threshold}`);
    }
    if ((kind === 'distinct' || kind === 'new') && !eff.field)
      at('field', `a ${kind} rule needs the field whose values count`);
    for (const g of eff.groupBy ?? []) {
      if (UNBOUNDED[g]) at('groupBy', `grouping by '${g}' is unbounded: ${UNBOUNDED[g]}`);
      else if (!(GROUP_LABELS as readonly string[]).includes(g))
        at(
          'groupBy',
          g.includes('header') || g.startsWith('x-')
            ? `grouping by a request header ('${g}') is unbounded: the client chooses its values`
            : `unknown group label '${g}'${suggestion(g, GROUP_LABELS)}; one of ${GROUP_LABELS.join(', ')}`,
        );
    }
    const checkFilter = (f: Filter | Filter[] | undefined, name: string) => {
      for (const one of f === undefined ? [] : Array.isArray(f) ? f : [f])
        for (const k of Object.keys(one))
          if (!(MATCH_FIELDS as readonly string[]).includes(k))
            at(name, `events have no field '${k}'${suggestion(k, MATCH_FIELDS)}`);
    };
    checkFilter(eff.match, 'match');
    checkFilter(eff.denominator, 'denominator');
    for (const f of eff.field === undefined ? [] : Array.isArray(eff.field) ? eff.field : [eff.field])
      if (!(MATCH_FIELDS as readonly string[]).includes(f))
        at('field', `events have no field '${f}'${suggestion(f, MATCH_FIELDS)}`);
  });
  return errors;
}

function compile(cfg: RuleConfig): CompiledRule {
  const kind = cfg.kind!;
  const window = parseDuration(cfg.window ?? '1m');
  return {
    cfg,
    id: cfg.id,
    kind,
    match: compileFilters(cfg.match!),
    ...(cfg.denominator ? { denominator: compileFilters(cfg.denominator) } : {}),
    fields: cfg.field === undefined ? [] : Array.isArray(cfg.field) ? cfg.field : [cfg.field],
    window,
    threshold: cfg.threshold ?? 1,
    minEvents: cfg.minEvents ?? 20,
    groupBy: cfg.groupBy ?? [],
    maxGroups: cfg.maxGroups ?? 10_000,
    forMs: cfg.for ? parseDuration(cfg.for) : 0,
    cooldown: parseDuration(cfg.cooldown ?? '10m'),
    resolveAfter: cfg.resolveAfter
      ? parseDuration(cfg.resolveAfter)
      : kind === 'event' || kind === 'new'
        ? window
        : 0,
    severity: cfg.severity ?? 'warning',
    groups: new Map(),
    ...(kind === 'new' ? { seen: new Map<string, true>() } : {}),
    overflow: 0,
  };
}

function fingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function expand(template: string, vars: (name: string) => unknown): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
    const v = vars(name);
    return v === undefined ? '?' : String(v);
  });
}

/**
 * Evaluates alert rules over the event stream with an injected clock. `observe` feeds
 * events (the monitor's drain calls it off the request path); `tick` re-evaluates every
 * live group so `for`, resolution and cooldown advance without new events. State changes
 * (pending, firing, resolved) go to the listeners.
 */
export class RuleEngine {
  private readonly rules: CompiledRule[];
  private readonly listeners = new Set<AlertListener>();
  /** Groups refused because a rule's maxGroups were all busy firing. */
  overflow = 0;

  constructor(
    rules: readonly RuleConfig[],
    private readonly now: () => number,
  ) {
    this.rules = rules.filter((r) => r.enabled !== false).map(compile);
  }

  get ruleIds(): string[] {
    return this.rules.map((r) => r.id);
  }

  onChange(l: AlertListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Alerts currently pending or firing. */
  active(): Alert[] {
    const out: Alert[] = [];
    for (const r of this.rules)
      for (const g of r.groups.values()) if (g.alert && g.state !== 'inactive') out.push(g.alert);
    return out;
  }

  observe(e: RampartEvent): void {
    const now = this.now();
    for (const r of this.rules) {
      const hit = r.match(e);
      const den = r.denominator ? r.denominator(e) : false;
      if (!hit && !den) continue;
      const g = this.group(r, e, now);
      if (!g) continue;
      if (den) g.den!.add(now);
      if (hit) {
        g.last = e;
        g.lastMatchAt = now;
        if (r.kind === 'distinct') {
          const v = this.fieldKey(r, e);
          if (v !== undefined) g.distinct!.add(v, now);
        } else if (r.kind === 'new') {
          const v = this.fieldKey(r, e);
          if (v === undefined || r.seen!.has(v)) continue;
          r.seen!.set(v, true);
          if (r.seen!.size > 10_000) r.seen!.delete(r.seen!.keys().next().value!);
          g.num.add(now);
        } else g.num.add(now);
      }
      this.evaluate(r, g, now, hit);
    }
  }

  /** Re-evaluates every group (call about once a second). */
  tick(): void {
    const now = this.now();
    for (const r of this.rules) {
      for (const g of r.groups.values()) {
        this.evaluate(r, g, now, false);
        // Forget idle groups: nothing in the window, not firing, cooldown over.
        if (
          g.state === 'inactive' &&
          now - g.lastMatchAt > r.window &&
          (g.resolvedAt === undefined || now - g.resolvedAt > r.cooldown)
        )
          r.groups.delete(g.key);
      }
    }
  }

  private fieldKey(r: CompiledRule, e: RampartEvent): string | undefined {
    if (r.fields.length === 1) {
      const v = fieldOf(e, r.fields[0]!);
      return v === undefined ? undefined : String(v);
    }
    const parts = r.fields.map((f) => fieldOf(e, f));
    return parts.some((p) => p === undefined) ? undefined : parts.join(' ');
  }

  private group(r: CompiledRule, e: RampartEvent, now: number): Group | undefined {
    // One label (the common case) keys by its value as is: no string built per event.
    let key = '';
    if (r.groupBy.length === 1) {
      const v = fieldOf(e, r.groupBy[0]!);
      if (v === undefined) return undefined; // the event lacks the label: not this rule's business
      key = typeof v === 'string' ? v : String(v);
    } else {
      for (const l of r.groupBy) {
        const v = fieldOf(e, l);
        if (v === undefined) return undefined;
        key += String(v) + '\u0000';
      }
    }
    let g = r.groups.get(key);
    if (g) {
      // LRU: move to the end.
      r.groups.delete(key);
      r.groups.set(key, g);
      return g;
    }
    if (r.groups.size >= r.maxGroups) {
      let evicted = false;
      for (const [k, old] of r.groups) {
        if (old.state === 'inactive') {
          r.groups.delete(k);
          evicted = true;
          break;
        }
      }
      if (!evicted) {
        r.overflow++;
        this.overflow++;
        return undefined;
      }
    }
    const labels: Record<string, string> = {};
    for (const l of r.groupBy) labels[l] = String(fieldOf(e, l));
    g = {
      key,
      labels,
      num: new SlidingCounter(r.window),
      ...(r.kind === 'ratio' ? { den: new SlidingCounter(r.window) } : {}),
      ...(r.kind === 'distinct'
        ? { distinct: new DistinctWindow(r.window, Math.max(1000, r.threshold * 4)) }
        : {}),
      lastMatchAt: now,
      state: 'inactive',
      since: now,
    };
    r.groups.set(key, g);
    return g;
  }

  private value(r: CompiledRule, g: Group, now: number): { value: number; holds: boolean } {
    switch (r.kind) {
      case 'threshold': {
        const v = g.num.sum(now);
        return { value: v, holds: v >= r.threshold };
      }
      case 'rate': {
        const v = g.num.sum(now) / (r.window / 1000);
        return { value: Math.round(v * 1000) / 1000, holds: v >= r.threshold };
      }
      case 'ratio': {
        const d = g.den!.sum(now);
        const n = g.num.sum(now);
        const v = d > 0 ? n / d : 0;
        return { value: Math.round(v * 1000) / 1000, holds: d >= r.minEvents && v >= r.threshold };
      }
      case 'distinct': {
        const v = g.distinct!.count(now);
        return { value: v, holds: v >= r.threshold };
      }
      case 'new': {
        const v = g.num.sum(now);
        return { value: v, holds: v > 0 && now - g.lastMatchAt < r.resolveAfter };
      }
      case 'event':
        return { value: 1, holds: g.last !== undefined && now - g.lastMatchAt < r.resolveAfter };
    }
  }

  private evaluate(r: CompiledRule, g: Group, now: number, fresh: boolean): void {
    const { value, holds } = this.value(r, g, now);
    if (holds) {
      g.falseSince = undefined;
      if (g.state === 'inactive') {
        if (g.resolvedAt !== undefined && now - g.resolvedAt < r.cooldown) return; // cooling down
        g.state = 'pending';
        g.since = now;
        g.alert = this.alert(r, g, value, 'pending', now);
        if (r.forMs > 0) return this.emit(g.alert);
      }
      if (g.state === 'pending' && now - g.since >= r.forMs) {
        g.state = 'firing';
        g.alert = this.alert(r, g, value, 'firing', now);
        return this.emit(g.alert);
      }
      if (g.state === 'firing' && g.alert) {
        if (value > g.alert.value || (fresh && (r.kind === 'new' || r.kind === 'event'))) {
          g.alert.value = value;
          g.alert.summary = this.summary(r, g, value);
        }
      }
      return;
    }
    if (g.state === 'pending') {
      g.state = 'inactive';
      return;
    }
    if (g.state !== 'firing') return;
    g.falseSince ??= now;
    if (now - g.falseSince < (r.kind === 'event' || r.kind === 'new' ? 0 : r.resolveAfter)) return;
    g.state = 'inactive';
    g.resolvedAt = now;
    g.alert = { ...g.alert!, state: 'resolved', endsAt: now };
    this.emit(g.alert);
  }

  private summary(r: CompiledRule, g: Group, value: number): string {
    const vars = (name: string): unknown => {
      if (name === 'value') return r.kind === 'ratio' ? `${Math.round(value * 100)}%` : value;
      if (name === 'threshold') return r.threshold;
      if (name === 'window') return formatDuration(r.window);
      if (name === 'latest') return g.last ? this.fieldKey(r, g.last) : undefined;
      if (name in g.labels) return g.labels[name];
      return g.last ? fieldOf(g.last, name) : undefined;
    };
    return expand(r.cfg.summary ?? `${r.id}: {{value}} (threshold {{threshold}}) in {{window}}`, vars);
  }

  private alert(r: CompiledRule, g: Group, value: number, state: 'pending' | 'firing', now: number): Alert {
    const labels = { alertname: r.id, severity: r.severity, ...g.labels };
    return {
      fingerprint: fingerprint(labels),
      rule: r.id,
      severity: r.severity,
      state,
      labels,
      summary: this.summary(r, g, value),
      ...(r.cfg.description ? { description: r.cfg.description } : {}),
      value,
      ...(r.kind !== 'event' && r.kind !== 'new' ? { threshold: r.threshold } : {}),
      startsAt: state === 'firing' && g.alert?.state === 'pending' ? g.alert.startsAt : now,
      explanation: {
        kind: r.kind,
        window: formatDuration(r.window),
        ...(r.kind === 'ratio' ? { minEvents: r.minEvents } : {}),
      },
    };
  }

  private emit(a: Alert): void {
    for (const l of this.listeners) {
      try {
        l(a);
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }

  /** Raises (or resolves) an alert from outside the rules: anomalies, the monitor's own health. */
  external(a: Alert): void {
    this.emit(a);
  }
}
