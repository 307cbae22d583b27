// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'data', 'coverage', 'src/console/dist', '.stryker'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  { files: ['src/identity/ui/**/*.js'], languageOptions: { globals: globals.browser } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['*/gateway/*', '*/identity/*', '*/monitor/*', '*/scanner/*', '*/lab/*'],
              message: 'core must not import feature folders',
            },
          ],
        },
      ],
    },
    files: ['src/core/**/*.ts'],
  },
  {
    // The shared reporters are a layer like core: they import only core.
    files: ['src/report/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '*/gateway/*',
                '*/identity/*',
                '*/monitor/*',
                '*/scanner/*',
                '*/lab/*',
                '*/audit/*',
                '*/code/*',
                '*/cli/*',
                '*/store/*',
              ],
              message: 'src/report imports only src/core',
            },
          ],
        },
      ],
    },
  },
);
