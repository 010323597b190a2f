// ESLint for the whole monorepo (flat config): ESLint's and typescript-eslint's
// recommended rules, type-aware on the packages' sources — correctness, not
// style (formatting is left alone). Each package's `lint` script runs
// `eslint .` with this file; `pnpm lint` runs them all through turbo.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['**/dist/', '**/node_modules/', '**/.turbo/', '**/coverage/', 'runs/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    // Sources are in each package's tsconfig.json, so their rules can use types (bench
    // scripts and vitest configs, outside it, get the rules that need none).
    files: ['**/src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    rules: {
      // The compiler's noUnusedLocals/noUnusedParameters already fail the build; the lint rule
      // adds unused catch bindings and destructured rest siblings, with the usual `_` escape.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests: stand-ins implement async interfaces without awaiting, and vitest's asymmetric
    // matchers (expect.closeTo, expect.any) are typed `any`.
    files: ['**/*.test.ts', '**/test-support/**/*.ts', '**/testing/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
