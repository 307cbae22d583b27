import type { Remediation } from '../../core/findings.ts';
import { ScanContext } from '../context.ts';
import type { Exchange } from '../http.ts';
import type { Identity } from '../identities.ts';
import { isObj } from '../spec.ts';

/** A remediation naming the Rampart policy and the x-rampart text that closes the hole. */
export function fix(
  summary: string,
  policy?: string,
  xRampart?: string,
  references: string[] = [],
): Remediation {
  // Written as a full `x-rampart:` block for readability; stored as the value under it.
  if (xRampart?.startsWith('x-rampart:\n'))
    xRampart = xRampart.slice('x-rampart:\n'.length).replace(/^ {2}/gm, '');
  return {
    summary,
    ...(policy ? { policy } : {}),
    ...(xRampart ? { xRampart } : {}),
    ...(references.length ? { references } : {}),
  };
}

export const ok = ScanContext.ok;
export const status = (x: Exchange): number => x.response?.status ?? 0;
export const who = (i?: Identity): string =>
  i ? `as ${i.name}${i.role ? ` (${i.role})` : ''}` : 'without credentials';

/** Compact JSON of a value's scalar leaves, for "does B see A's data" comparisons. */
export function sameObject(a: unknown, b: unknown): boolean {
  if (!isObj(a) || !isObj(b)) return false;
  const keys = Object.keys(a).filter((k) => typeof a[k] !== 'object');
  if (keys.length === 0) return false;
  const idKey = keys.find((k) => /^(id|uuid|_id)$/i.test(k));
  if (idKey && String(a[idKey]) !== String(b[idKey])) return false;
  return keys.filter((k) => a[k] === b[k]).length >= Math.min(2, keys.length);
}

export const OWASP = 'https://owasp.org/API-Security/editions/2023/en/';
