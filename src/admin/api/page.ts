/**
 * Paging for every list of the admin API: `limit` (1…{@link MAX_PAGE}, default
 * {@link DEFAULT_PAGE}) and an opaque `cursor` (the previous page's `next`). The request
 * validator refuses a larger limit first (400, from the OpenAPI document); this is the same
 * rule again where the list is cut, so no list answers more than MAX_PAGE items.
 */
import { ProblemError } from '../../core/errors.ts';

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;

export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Reads `limit` and `cursor` from a query string. */
export function pageParams(query: URLSearchParams): { limit: number; offset: number } {
  const raw = query.get('limit');
  let limit = DEFAULT_PAGE;
  if (raw !== null) {
    if (!/^[0-9]{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PAGE)
      throw new ProblemError('bad-request', `limit must be an integer from 1 to ${MAX_PAGE}`, {
        errors: [{ pointer: '/query/limit', keyword: 'maximum', detail: `must be <= ${MAX_PAGE}` }],
      });
    limit = Number(raw);
  }
  return { limit, offset: decodeCursor(query.get('cursor')) };
}

function decodeCursor(c: string | null): number {
  if (c === null || c === '') return 0;
  const m = /^o([0-9a-z]{1,10})$/.exec(c);
  const n = m ? parseInt(m[1]!, 36) : NaN;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ProblemError('bad-request', 'The cursor is not one this API issued');
  return n;
}

/** One page of an in-memory list. */
export function page<T>(all: readonly T[], p: { limit: number; offset: number }): Page<T> {
  const items = all.slice(p.offset, p.offset + p.limit);
  const end = p.offset + items.length;
  return { items, next: end < all.length ? 'o' + end.toString(36) : null };
}
