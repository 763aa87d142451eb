import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import boundaries from './eslint-rules/module-boundaries.cjs';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', '*.config.js', '*.config.mjs', 'scripts/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      'no-control-regex': 'off',
      // LockOrder gives MACRO and MEMORY the same level on purpose (they never nest).
      '@typescript-eslint/no-duplicate-enum-values': 'off',
    },
  },
  // A module is used only through its index.ts; src/common imports no module (docs/architecture.md "Modules").
  boundaries.moduleBoundariesConfig(import.meta.dirname),
  {
    // The console page's script runs in the browser, as is (no build step).
    files: ['src/modules/console/public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'sessionStorage', 'fetch', 'AbortController', 'TextDecoder', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'console'].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    // The lint rules of the repository itself are CommonJS, loaded by this config and by their spec.
    files: ['eslint-rules/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    // Tests read loosely typed JSON responses.
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
