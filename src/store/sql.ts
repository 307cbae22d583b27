/**
 * Small SQL text helpers shared by the adapters and the migration runner:
 * placeholder rewriting (`$1…` → `?`) and statement splitting. Both walk the text
 * with the same scanner, which skips string literals ('…', with '' escapes and
 * E'…' backslash escapes), quoted identifiers ("…", `…`, […]), comments (-- and
 * /* *\/, nested in PostgreSQL) and PostgreSQL dollar-quoted bodies ($tag$…$tag$).
 */

interface Segment {
  /** `code` is plain SQL the caller may rewrite; anything else is copied verbatim. */
  kind: 'code' | 'quoted';
  text: string;
}

const DOLLAR_TAG = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/;

/** Splits SQL into plain code and quoted/comment segments. Never throws; an unterminated literal runs to the end. */
function scanSql(sql: string): Segment[] {
  const out: Segment[] = [];
  let code = '';
  let i = 0;
  const n = sql.length;
  const flushCode = (): void => {
    if (code) out.push({ kind: 'code', text: code });
    code = '';
  };
  const quoted = (end: number): void => {
    flushCode();
    out.push({ kind: 'quoted', text: sql.slice(i, end) });
    i = end;
  };
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || ((c === 'E' || c === 'e') && next === "'" && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? ''))) {
      const backslash = c !== "'";
      quoted(endOfQuoted(sql, backslash ? i + 2 : i + 1, "'", backslash));
      continue;
    }
    if (c === '"' || c === '`') {
      quoted(endOfQuoted(sql, i + 1, c, false));
      continue;
    }
    if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i);
      quoted(nl === -1 ? n : nl);
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      quoted(Math.min(j, n));
      continue;
    }
    if (c === '$' && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      const m = DOLLAR_TAG.exec(sql.slice(i, i + 64));
      if (m) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        quoted(end === -1 ? n : end + tag.length);
        continue;
      }
    }
    code += c;
    i++;
  }
  flushCode();
  return out;
}

/**
 * Index just past the `quote` that closes a quoted run whose body starts at `from`
 * (a doubled quote is an escaped one; with `backslash`, `\x` is too), or the end of `sql`.
 */
function endOfQuoted(sql: string, from: number, quote: string, backslash: boolean): number {
  for (let j = from; j < sql.length; j++) {
    if (backslash && sql[j] === '\\') j++;
    else if (sql[j] === quote) {
      if (sql[j + 1] !== quote) return j + 1;
      j++;
    }
  }
  return sql.length;
}

export interface RewrittenSql {
  /** SQL with `?` in place of each `$n`. */
  sql: string;
  /**
   * For each `?`, in order, the zero-based index of the caller's parameter it takes,
   * or null when the SQL had no `$n` placeholders (parameters pass through as given).
   */
  order: number[] | null;
  /** Highest `$n` used (0 when none). */
  maxIndex: number;
}

/**
 * Rewrites PostgreSQL-style `$1, $2…` placeholders to SQLite's anonymous `?`,
 * recording which parameter each `?` takes, so `$2 … $1 … $2` works.
 * Placeholders inside literals, quoted identifiers and comments are left alone.
 */
export function rewritePlaceholders(sql: string): RewrittenSql {
  if (!sql.includes('$')) return { sql, order: null, maxIndex: 0 };
  const order: number[] = [];
  let maxIndex = 0;
  let text = '';
  for (const seg of scanSql(sql)) {
    if (seg.kind !== 'code') {
      text += seg.text;
      continue;
    }
    text += seg.text.replace(/\$(\d+)(?![A-Za-z0-9_])/g, (_m, digits: string) => {
      const idx = Number(digits);
      if (idx < 1) throw new Error('SQL placeholders are numbered from $1');
      order.push(idx - 1);
      if (idx > maxIndex) maxIndex = idx;
      return '?';
    });
  }
  return order.length ? { sql: text, order, maxIndex } : { sql, order: null, maxIndex: 0 };
}

/**
 * Splits a script into statements on top-level `;`. Knows about literals, comments,
 * dollar quotes and `CREATE TRIGGER … BEGIN … END;` bodies. Used only when an
 * adapter has no native multi-statement `exec`.
 */
export function splitStatements(sql: string): string[] {
  const stmts: string[] = [];
  let cur = '';
  let depth = 0; // BEGIN…END nesting inside CREATE TRIGGER
  const push = (): void => {
    const s = cur.trim();
    if (s && !/^(?:--[^\n]*\n?|\/\*[\s\S]*?\*\/|\s)*$/.test(s)) stmts.push(s);
    cur = '';
  };
  for (const seg of scanSql(sql)) {
    if (seg.kind !== 'code') {
      cur += seg.text;
      continue;
    }
    const re = /;|\b(BEGIN|CASE|END)\b/gi;
    let last = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(seg.text))) {
      const word = m[1]?.toUpperCase();
      if (word === 'BEGIN' || word === 'CASE') {
        // A bare "BEGIN;" (transaction) is not a block opener.
        if (word === 'CASE' || /\bTRIGGER\b/i.test(cur + seg.text.slice(last, m.index))) depth++;
        continue;
      }
      if (word === 'END') {
        if (depth > 0) depth--;
        continue;
      }
      if (depth > 0) continue;
      cur += seg.text.slice(last, m.index);
      push();
      last = m.index + 1;
    }
    cur += seg.text.slice(last);
  }
  push();
  return stmts;
}
