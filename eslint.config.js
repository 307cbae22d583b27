// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layering of docs/architecture.md, enforced: `core` imports nothing of the project;
 * `store` imports only core; `src/report/` (shared reporters) imports only core; feature
 * folders import core, store (and, for scanner/audit/code/learn/posture, report) — never each other, nor
 * the composers (`cli`, `admin`).
 */
const FEATURES = [
  'gateway',
  'identity',
  'lab',
  'monitor',
  'scanner',
  'audit',
  'code',
  'versions',
  'learn',
  'posture',
  'console',
];
const COMPOSERS = ['cli', 'admin'];
const REPORT_USERS = ['scanner', 'audit', 'code', 'learn', 'posture'];
const folder = (name) => [`**/${name}/**`, `**/${name}`];

function restrict(files, forbidden, message) {
  return {
    files,
    // Tests beside the code are not shipped (tsconfig.build.json): they may compose layers.
    ignores: ['**/*.test.ts'],
    rules: {
      // `./…` stays inside the importing folder (e.g. gateway/policies/versions/), never another layer.
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: [...forbidden.flatMap(folder), '!./**'], message }] },
      ],
    },
  };
}

function layering() {
  return [
    restrict(
      ['src/core/**/*.ts'],
      [...FEATURES, ...COMPOSERS, 'store', 'report'],
      'core imports nothing of the project (docs/architecture.md)',
    ),
    restrict(
      ['src/store/**/*.ts'],
      [...FEATURES, ...COMPOSERS, 'report'],
      'store imports only core (docs/architecture.md)',
    ),
    restrict(
      ['src/report/**/*.ts'],
      [...FEATURES, ...COMPOSERS, 'store'],
      'src/report/ imports only core (docs/architecture.md)',
    ),
    ...FEATURES.map((f) =>
      restrict(
        [`src/${f}/**/*.ts`],
        [...FEATURES.filter((o) => o !== f), ...COMPOSERS, ...(REPORT_USERS.includes(f) ? [] : ['report'])],
        `feature folders import only core and store${REPORT_USERS.includes(f) ? ' (and report)' : ''}, never each other (docs/architecture.md)`,
      ),
    ),
    // The console's browser code is bundled on its own: it imports only its own folder and npm packages.
    {
      files: ['src/console/app/**/*.{ts,tsx}'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: ['../../*', '!../../app/**'],
                message:
                  'src/console/app/ runs in the browser: it imports only its own files and npm packages (docs/architecture.md)',
              },
            ],
          },
        ],
      },
    },
  ];
}

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'dist',
      'data',
      'coverage',
      'src/console/dist',
      'src/console/dist.tmp-*',
      'test/fixtures/code',
      '.stryker',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  { files: ['src/identity/ui/**/*.js'], languageOptions: { globals: globals.browser } },
  { files: ['src/console/app/**/*.{ts,tsx}'], languageOptions: { globals: globals.browser } },
  { rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }] } },
  ...layering(),
);
