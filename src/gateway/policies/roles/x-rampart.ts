/**
 * The `x-rampart` syntax the `roles` policy reads (public syntax: additions allowed,
 * renames never). Declared before the policy exists so documents are validated now.
 */
import { Type } from '@sinclair/typebox';

export const rolesKey = Type.Array(Type.String({ minLength: 1, pattern: '^[^\\s,]+$' }), {
  minItems: 1,
  uniqueItems: true,
  description:
    'The caller needs at least one of these roles (from the verified token or API key) to call the operation (403 otherwise).',
  examples: [['admin'], ['patient', 'doctor', 'admin']],
});

export const publicKey = Type.Boolean({
  description:
    'Marks the operation as deliberately open to every caller: no role is required (where the roles policy denies operations that declare neither roles nor public).',
  examples: [true],
});

export const rolesXRampart = { roles: rolesKey, public: publicKey };
