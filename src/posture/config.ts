import { Type, type Static } from '@sinclair/typebox';

/**
 * `posture:` in rampart.yaml: where `rampart posture` finds the results it judges and keeps
 * its own history. Every path is relative to the config file. Optional: the defaults read
 * the scanner's stored results and keep the history under `data/`.
 */
export const postureConfigSchema = Type.Object(
  {
    history: Type.String({
      default: 'data/posture-history.json',
      description: 'JSON file of past posture runs (score per item), for the trend.',
    }),
    keep: Type.Integer({
      minimum: 1,
      maximum: 10000,
      default: 200,
      description: 'Runs kept in the history.',
    }),
    adminRoles: Type.Array(Type.String({ minLength: 1 }), {
      default: ['admin'],
      description:
        'Roles that mark an operation as an admin API (x-rampart.roles naming only these, or a path under /admin).',
    }),
    evidence: Type.Object(
      {
        scans: Type.Optional(
          Type.String({
            description:
              'Directory of stored scan results (`rampart scan --history DIR`, `scans.results`). Default: scans.results, else data/scans.',
          }),
        ),
        audits: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'JSON reports of `rampart audit --format json --output FILE` (files or directories).',
        }),
        code: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'JSON reports of `rampart code --format json --output FILE` (files or directories).',
        }),
        simulations: Type.String({
          default: 'data/simulations',
          description:
            'Directory `rampart simulate --record DIR` writes its results to (tested alert rules).',
        }),
        ci: Type.Array(Type.String({ minLength: 1 }), {
          default: ['.github/workflows', '.gitlab-ci.yml', '.ci'],
          description:
            'CI definitions (files or directories) read for `rampart scan|audit|code` steps and their triggers (push, schedule).',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: 'Where the results of scans, audits, code scans, simulations and CI live.',
      },
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'The posture report (rampart posture): evidence locations and history. See docs/posture.md.',
  },
);

export type PostureConfig = Static<typeof postureConfigSchema>;
