/**
 * The schema-level `x-rampart` keys the `property-access` policy reads (public syntax:
 * additions allowed, renames never). They are written on Schema Objects — a property of a
 * request or response body — not on operations, and validated when a document loads.
 */
import { Type } from '@sinclair/typebox';
import type { XRampartKey } from '../../policy.ts';

const roleList = (description: string, examples: string[][]) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\s,]+$' }), {
    minItems: 1,
    uniqueItems: true,
    description,
    examples,
  });

export const writableByKey: XRampartKey = {
  at: 'schema',
  schema: roleList(
    'On a request-body property: only callers with one of these roles may send it (403 otherwise); with readOnly, the roles that may still write it.',
    [['admin']],
  ),
};

export const visibleToKey: XRampartKey = {
  at: 'schema',
  schema: roleList(
    'On a response property: removed from the answer for callers without one of these roles (and unmasked for them by minimise-response).',
    [['admin'], ['doctor', 'admin']],
  ),
};

export const propertyAccessXRampart = { writableBy: writableByKey, visibleTo: visibleToKey };
