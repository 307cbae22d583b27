import { readFileSync } from 'node:fs';
import type { OwaspApiCategory } from '../core/findings.ts';
import { labAsset } from './assets.ts';

// The one list of OWASP API Top 10 2023 ids is the finding model's.
export type { OwaspApiCategory };

/** One planted flaw of the vulnerable lab: the ground truth scanners and policies are measured against. */
export interface Flaw {
  /** Stable kebab-case id, the key of its exploit in exploits.ts. */
  id: string;
  owasp: OwaspApiCategory;
  /** e.g. `CWE-639`. */
  cwe: string;
  /**
   * Where it lives: method and full request path template, version prefix included
   * (`/v2/records/{recordId}`); the OpenAPI documents write paths relative to their
   * server URL (`/v2`), so strip the prefix to find the operation there.
   */
  operation: { method: string; path: string };
  /** `v2`, `v1`, or `none` for an endpoint in no document. */
  version: 'v1' | 'v2' | 'none';
  title: string;
  /** How to exploit it, in words (the executable version is in exploits.ts). */
  exploit: string;
  /** How the secure twin fixes it. */
  fix: string;
}

/** Path of the ground-truth file. */
const FLAWS_FILE = labAsset('flaws.json');

/** The planted flaws, in catalogue order. */
export const flaws: readonly Flaw[] = JSON.parse(readFileSync(FLAWS_FILE, 'utf8')) as Flaw[];
