/**
 * `rampart code`: walks a source tree and runs the secret rules on every text file,
 * the pattern rules on JS/TS files and the dependency check on lockfiles, producing
 * `Finding`s (src/core/findings.ts). Everything that could not be read is a note.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { CheckInfo, Finding } from '../core/findings.ts';
import { isMinified, MAX_FILE_BYTES, readSource, walk } from './files.ts';
import { analyzePatterns } from './patterns/analyze.ts';
import { PATTERN_RULES, PATTERN_RULE_LIST } from './patterns/rules.ts';
import { checkInfo, lineCol, numberHits, toFinding, type RuleHit } from './rules.ts';
import { scanSecrets, secretContext } from './secrets/scan.ts';
import { SECRET_RULES } from './secrets/rules.ts';
import { outdatedMajors, OUTDATED_RULE } from './dependencies/outdated.ts';
import { DEPENDENCY_RULE, isLockfile, scanLockfile } from './dependencies/scan.ts';
import { indexAdvisories, type OsvAdvisory } from './dependencies/osv.ts';

export const JS_FILE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

export interface CodeScanOptions {
  exclude?: string[];
  /** OSV advisories to check lockfiles against (none: the dependency check does not run). */
  advisories?: OsvAdvisory[];
  /** Called with the number of files done and the total (a terminal progress line). */
  progress?: (done: number, total: number) => void;
}

export interface CodeScanResult {
  findings: Finding[];
  notes: string[];
  stats: { files: number; lines: number; skipped: number; jsFiles: number };
  checks: CheckInfo[];
  /** Files examined (relative). */
  files: string[];
}

export function patternHits(file: string, text: string): { hits: RuleHit[]; note?: string } {
  const r = analyzePatterns(file, text);
  if (r.syntaxError)
    return {
      hits: [],
      note: `${file}:${r.syntaxError.line}:${r.syntaxError.column}: patterns not analysed, syntax error (${r.syntaxError.message})`,
    };
  const starts = lineStarts(text);
  return {
    hits: r.hits.map((h) => {
      const a = position(starts, h.start);
      const b = position(starts, h.end);
      const snippet = text.slice(h.start, Math.min(h.end, h.start + 120)).split('\n')[0]!;
      return {
        rule: PATTERN_RULES[h.rule],
        file,
        line: a.line,
        column: a.column,
        endLine: b.line,
        endColumn: b.column,
        message: h.message,
        // Pattern snippets go through the secret masker too: a config object may hold a key.
        snippet: maskSnippet(snippet),
        key: h.message,
        ...(h.severity ? { severity: h.severity } : {}),
        ...(h.flow
          ? { details: { flow: h.flow }, confidence: 'firm' as const }
          : { confidence: 'firm' as const }),
      };
    }),
  };
}

function maskSnippet(s: string): string {
  return s.replace(/(['"`])([^'"`]{4,})\1/g, (m, q: string, v: string) =>
    /passw|secret|key|token/i.test(s) && /[A-Za-z0-9]{6,}/.test(v) && !/\s/.test(v)
      ? `${q}${v.slice(0, 2)}***${q}`
      : m,
  );
}

export function lineStarts(text: string): number[] {
  const s = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) s.push(i + 1);
  return s;
}
export function position(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

/** All hits for one file's text (secrets and patterns), without duplicates on one line. */
export function scanText(rel: string, text: string, notes: string[]): RuleHit[] {
  const hits: RuleHit[] = [];
  const minified = JS_FILE.test(rel) && isMinified(text);
  if (minified) {
    notes.push(`${rel}: skipped, minified bundle`);
    return hits;
  }
  const secrets = scanSecrets(rel, text, secretContext(rel));
  let patterns: RuleHit[] = [];
  if (JS_FILE.test(rel) && !rel.endsWith('.d.ts')) {
    const p = patternHits(rel, text);
    if (p.note) notes.push(p.note);
    patterns = p.hits;
  }
  const credentialLines = new Set(
    patterns.filter((h) => h.rule.id === 'code/hardcoded-credentials').map((h) => h.line),
  );
  for (const s of secrets)
    if (!(s.rule.id === 'code/secret-generic' && credentialLines.has(s.line))) hits.push(s);
  hits.push(...patterns);
  return hits;
}

export function codeChecks(extra: CheckInfo[] = []): CheckInfo[] {
  return [...SECRET_RULES, ...PATTERN_RULE_LIST].map(checkInfo).concat(extra);
}

export function scanTree(root: string, opts: CodeScanOptions = {}): CodeScanResult {
  const { files, notes } = walk(root, opts.exclude ? { exclude: opts.exclude } : {});
  const findings: Finding[] = [];
  let lines = 0;
  let skipped = 0;
  let jsFiles = 0;
  const examined: string[] = [];
  const idx = opts.advisories ? indexAdvisories(opts.advisories) : undefined;
  files.forEach((f, i) => {
    opts.progress?.(i, files.length);
    const r = readSource(f.abs, isLockfile(f.rel) ? 64 * MAX_FILE_BYTES : MAX_FILE_BYTES);
    if ('skip' in r) {
      skipped++;
      notes.push(`${f.rel}: skipped, ${r.skip}`);
      return;
    }
    examined.push(f.rel);
    lines += r.text.split('\n').length;
    if (JS_FILE.test(f.rel)) jsFiles++;
    if (isLockfile(f.rel)) {
      if (idx) findings.push(...scanLockfile(f.rel, r.text, idx, notes));
      findings.push(...outdatedMajors(f.rel, r.text));
      return;
    }
    const before = notes.length;
    for (const h of numberHits(scanText(f.rel, r.text, notes))) findings.push(toFinding(h));
    if (notes.length > before && notes.slice(before).some((n) => n.includes('skipped, minified'))) skipped++;
  });
  opts.progress?.(files.length, files.length);
  if (!idx && files.some((f) => isLockfile(f.rel)))
    notes.push('dependencies: lockfiles found but not checked (no --advisories database given)');
  return {
    findings,
    notes,
    stats: { files: examined.length, lines, skipped, jsFiles },
    checks: codeChecks([...(idx ? [checkInfo(DEPENDENCY_RULE)] : []), checkInfo(OUTDATED_RULE)]),
    files: examined,
  };
}

/**
 * `--history`: the secret rules over every line added in the git history of the
 * repository holding `root` (`git log -p`), each finding naming its commit.
 */
export function scanHistory(root: string, notes: string[]): Finding[] {
  let log: string;
  try {
    log = execFileSync(
      'git',
      [
        '-C',
        resolve(root),
        'log',
        '--all',
        '-p',
        '-U0',
        '--no-color',
        '--no-ext-diff',
        '--format=commit %H',
        '--',
        '.',
      ],
      {
        encoding: 'utf8',
        maxBuffer: 512 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (err) {
    notes.push(`--history: git log failed (${(err as Error).message.split('\n')[0]})`);
    return [];
  }
  // git log lists newest first: a later (older) sighting overwrites, so each secret is
  // reported at the commit that introduced it.
  const byKey = new Map<string, Finding>();
  let commit = '';
  let file = '';
  let line = 0;
  for (const raw of log.split('\n')) {
    if (raw.startsWith('commit ')) commit = raw.slice(7).trim();
    else if (raw.startsWith('+++ ')) file = raw.slice(4).replace(/^b\//, '');
    else if (raw.startsWith('@@')) line = Number(/\+(\d+)/.exec(raw)?.[1] ?? 0) - 1;
    else if (raw.startsWith('+') && file !== '/dev/null') {
      line++;
      const text = raw.slice(1);
      if (text.length > 5000) continue;
      for (const h of scanSecrets(file, text, secretContext(file))) {
        const key = `${h.rule.id}\0${file}\0${h.snippet}`;
        byKey.delete(key);
        byKey.set(key, toFinding({ ...h, line, commit, details: { ...h.details, history: true } }));
      }
    }
  }
  return [...byKey.values()];
}

export { lineCol };
