// @ts-check
import { builtinModules } from 'node:module';
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Bare built-in names; the `node:` prefix is caught by a pattern below. Internal `_stream_*` names are skipped.
const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_'));

// The product never loads what only developers and tests run: tools/ and test/ stay out of the image.
const productOnly = {
  regex: '(^|/)(tools|test)(/|$)',
  message: 'src/ is the product: it never imports from tools/ or test/ (they import from src/, not the other way).',
};

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', '.data/', '.cache/', 'coverage/'] },
  {
    files: ['**/*.ts'],
    extends: [eslint.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe()/it() return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }],
        },
      ],
      // Express 5 awaits promise-returning handlers and forwards rejections to the error middleware,
      // so passing an async function where a void callback is expected (router.get(path, async …)) is fine.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      // Express recognises error middleware by its four parameters, so `_next` must stay even when unused.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [productOnly] }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code runs in a deterministic sandbox: no Node built-ins.' })),
            ...['pg', 'express'].map((name) => ({ name, message: 'Workflow code does no I/O: move it into an activity.' })),
            ...['@temporalio/activity', '@temporalio/worker', '@temporalio/client'].map((name) => ({
              name,
              message: 'Workflow code imports only @temporalio/workflow and @temporalio/common.',
            })),
          ],
          patterns: [
            productOnly,
            { group: ['node:*'], message: 'Workflow code runs in a deterministic sandbox: no Node built-ins.' },
            {
              regex: '(^|/)activities(/|$)',
              allowTypeImports: true,
              message: "Workflows import activity types only: `import type { Activities } from '../activities'`.",
            },
          ],
        },
      ],
      // Date.now() and Math.random() are made deterministic by the SDK, so they stay allowed.
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate'].map((name) => ({
          name,
          message: 'Workflows wait with sleep() or condition() from @temporalio/workflow.',
        })),
        { name: 'fetch', message: 'Workflow code does no I/O: move it into an activity.' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read JSON response bodies loosely.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [eslint.configs.recommended],
  },
  {
    // The operator page's script runs in the browser, as written: no build step.
    files: ['src/api/ui/**/*.js'],
    languageOptions: { sourceType: 'script', globals: globals.browser },
  },
);
