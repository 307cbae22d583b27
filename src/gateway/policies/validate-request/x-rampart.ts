/** The `x-rampart.bodyLimit` syntax (public syntax: additions allowed, renames never). */
import { Type } from '@sinclair/typebox';

export const bodyLimitSchema = Type.Integer({
  minimum: 0,
  description:
    "This operation's request body limit in bytes (413 beyond), below the global limits.maxBodyBytes.",
  examples: [65536],
});

export const validateRequestXRampart = { bodyLimit: bodyLimitSchema };
