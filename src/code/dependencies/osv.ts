/**
 * OSV advisories (https://ossf.github.io/osv-schema/) for the npm ecosystem: loaded from
 * a JSON file (one advisory, an array, or `{ vulns: [] }`), a directory of them, or the
 * zip osv.dev publishes (npm/all.zip); versions are matched exactly with `semver`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import semver from 'semver';

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}
export interface OsvAffected {
  package?: { ecosystem?: string; name?: string };
  ranges?: Array<{ type?: string; events?: OsvEvent[] }>;
  versions?: string[];
  database_specific?: Record<string, unknown>;
}
export interface OsvAdvisory {
  id: string;
  aliases?: string[];
  summary?: string;
  details?: string;
  withdrawn?: string;
  modified?: string;
  affected?: OsvAffected[];
  severity?: Array<{ type: string; score: string }>;
  database_specific?: { severity?: string; cwe_ids?: string[] };
  references?: Array<{ type?: string; url: string }>;
}

/** Entries of a zip archive (stored or deflated), read from its central directory. */
export function unzip(buf: Buffer): Array<{ name: string; data: Buffer }> {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--)
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd === -1) throw new Error('not a zip archive (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out: Array<{ name: string; data: Buffer }> = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + size);
    if (!name.endsWith('/')) {
      if (method === 0) out.push({ name, data: raw });
      else if (method === 8) out.push({ name, data: inflateRawSync(raw) });
      else throw new Error(`zip entry ${name}: unsupported compression method ${method}`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function fromJson(value: unknown, into: OsvAdvisory[]): void {
  if (Array.isArray(value)) for (const v of value) fromJson(v, into);
  else if (value && typeof value === 'object') {
    const o = value as { vulns?: unknown; id?: unknown };
    if (Array.isArray(o.vulns)) fromJson(o.vulns, into);
    else if (typeof o.id === 'string') into.push(value as OsvAdvisory);
  }
}

/** Loads advisories from a FILE (.json or .zip) or a DIR; notes say what was unreadable. */
export function loadAdvisories(path: string, notes: string[]): OsvAdvisory[] {
  const out: OsvAdvisory[] = [];
  const loadFile = (file: string): void => {
    try {
      if (file.endsWith('.zip')) {
        for (const e of unzip(readFileSync(file)))
          if (e.name.endsWith('.json'))
            try {
              fromJson(JSON.parse(e.data.toString('utf8')), out);
            } catch {
              notes.push(`${file}!${e.name}: not JSON, skipped`);
            }
      } else fromJson(JSON.parse(readFileSync(file, 'utf8')), out);
    } catch (err) {
      notes.push(`${file}: advisories not loaded (${(err as Error).message})`);
    }
  };
  const st = statSync(path);
  if (st.isDirectory()) {
    const visit = (dir: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) visit(p);
        else if (name.endsWith('.json') || name.endsWith('.zip')) loadFile(p);
      }
    };
    visit(path);
  } else loadFile(path);
  return out.filter((a) => !a.withdrawn);
}

/** OSV's evaluation of one SEMVER/ECOSYSTEM range: events sorted by version, last applicable event wins. */
export function inRange(version: string, events: OsvEvent[]): boolean {
  const v = semver.parse(version);
  if (!v) return false;
  const key = (e: OsvEvent): string => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '0';
  const sorted = [...events].sort((a, b) => {
    const x = key(a) === '0' ? '0.0.0-0' : key(a);
    const y = key(b) === '0' ? '0.0.0-0' : key(b);
    return semver.valid(x) && semver.valid(y) ? semver.compare(x, y) : 0;
  });
  let affected = false;
  for (const e of sorted) {
    if (e.introduced !== undefined) {
      if (e.introduced === '0' || (semver.valid(e.introduced) && semver.gte(v, e.introduced)))
        affected = true;
    } else if (e.fixed !== undefined) {
      if (semver.valid(e.fixed) && semver.gte(v, e.fixed)) affected = false;
    } else if (e.last_affected !== undefined) {
      if (semver.valid(e.last_affected) && semver.gt(v, e.last_affected)) affected = false;
    } else if (e.limit !== undefined && e.limit !== '*') {
      if (semver.valid(e.limit) && semver.gte(v, e.limit)) affected = false;
    }
  }
  return affected;
}

export interface Match {
  advisory: OsvAdvisory;
  /** The lowest fixed version above the installed one, when the advisory names one. */
  fixed?: string;
}

/** Index by package name for fast lookup. */
export function indexAdvisories(
  advisories: OsvAdvisory[],
): Map<string, Array<{ advisory: OsvAdvisory; affected: OsvAffected }>> {
  const idx = new Map<string, Array<{ advisory: OsvAdvisory; affected: OsvAffected }>>();
  for (const a of advisories)
    for (const af of a.affected ?? []) {
      if (af.package?.ecosystem !== 'npm' || !af.package.name) continue;
      const list = idx.get(af.package.name) ?? [];
      list.push({ advisory: a, affected: af });
      idx.set(af.package.name, list);
    }
  return idx;
}

export function matches(idx: ReturnType<typeof indexAdvisories>, name: string, version: string): Match[] {
  const out: Match[] = [];
  const seen = new Set<string>();
  for (const { advisory, affected } of idx.get(name) ?? []) {
    if (seen.has(advisory.id)) continue;
    let hit = affected.versions?.includes(version) ?? false;
    let fixed: string | undefined;
    for (const r of affected.ranges ?? []) {
      if (r.type !== 'SEMVER' && r.type !== 'ECOSYSTEM') continue;
      if (inRange(version, r.events ?? [])) {
        hit = true;
        const fixes = (r.events ?? [])
          .map((e) => e.fixed)
          .filter((f): f is string => !!f && !!semver.valid(f) && semver.gt(f, version))
          .sort(semver.compare);
        if (fixes[0] && (!fixed || semver.lt(fixes[0], fixed))) fixed = fixes[0];
      }
    }
    if (hit) {
      seen.add(advisory.id);
      out.push({ advisory, ...(fixed ? { fixed } : {}) });
    }
  }
  return out;
}
