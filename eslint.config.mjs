// Lint also enforces the layout (README "Layout"); scripts/check-tiers.mjs checks tiers and cycles.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.vscode-test/**', 'bench/out/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      // a type-only import stays type-only, so it never loads a module (or a tier) at run time
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['src/spec/**/*.ts', 'src/engine/**/*.ts', 'src/accel/**/*.ts', 'src/data/**/*.ts', 'src/report/**/*.ts', 'src/runs/**/*.ts', 'src/worker/**/*.ts', 'src/cli/**/*.ts', 'src/protocol/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only src/extension may import vscode.' }] }] },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@tensorflow/*'], message: 'The extension host never loads tfjs; the worker does.' }] }],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'Webviews talk to the host by messages.' }],
        patterns: [{ group: ['@tensorflow/*', 'node:*', '**/src/engine/**', '**/src/accel/**', '**/src/data/**'], message: 'Webview code imports only type-only protocol files and pure transforms.' }],
      }],
    },
  },
);
