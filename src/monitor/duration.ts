const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d)$';

/** `30s`, `5m`, `1h`, `30d` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) throw new Error(`'${text}' is not a duration like 30s, 5m, 1h or 7d`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

export function formatDuration(ms: number): string {
  for (const [u, f] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= f && ms % f === 0) return `${ms / f}${u}`;
  }
  return `${ms}ms`;
}
