// ESLint flat config: @eslint/js + typescript-eslint recommended (syntax-based, no type information, so
// `npm run lint` stays fast; `tsc --noEmit` does the type checking).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The few Node globals plain .js/.cjs/.mjs files use (TypeScript files get them from @types/node; no-undef is off there).
const nodeGlobals = Object.fromEntries(
  [
    'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'setInterval',
    'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'AbortController',
    'fetch', 'globalThis',
  ].map((name) => [name, 'readonly']),
);
const commonjsGlobals = { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' };
const browserGlobals = Object.fromEntries(
  ['window', 'document', 'navigator', 'location', 'fetch', 'console', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'HTMLElement', 'Event', 'localStorage', 'sessionStorage'].map((n) => [n, 'readonly']),
);

export default defineConfig(
  globalIgnores(['dist/', 'build/', 'node_modules/', '.data/', '.test-tmp/', 'coverage/', 'src/web/tab/dist/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      globals: nodeGlobals,
    },
    rules: {
      // Unused names are compile errors already (noUnusedLocals/Parameters); allow `_`-prefixed ones here.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Input validation here matches control characters on purpose (names, table keys, mail headers).
      'no-control-regex': 'off',
    },
  },
  {
    // The invisible-character class lists a lone combining grapheme joiner (U+034F) on purpose.
    files: ['src/groups/groupName.ts'],
    rules: { 'no-misleading-character-class': 'off' },
  },
  {
    // CommonJS helpers (.cjs), e.g. the mocha reporter and the Azurite orphan guard.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, ...commonjsGlobals } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Browser code of the tab.
    files: ['src/web/tab/client/**'],
    languageOptions: { globals: browserGlobals },
  },
);
