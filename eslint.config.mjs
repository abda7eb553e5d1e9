// ESLint flat config: @eslint/js + typescript-eslint recommended (syntax-based, no type information, so
// `npm run lint` stays fast; `tsc --noEmit` does the type checking).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The few Node globals plain .js/.cjs/.mjs files use (TypeScript files get them from @types/node; no-undef is off there).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'structuredClone',
    'AbortController',
    'fetch',
    'globalThis',
  ].map((name) => [name, 'readonly']),
);
const commonjsGlobals = { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' };
const browserGlobals = Object.fromEntries(
  [
    'window',
    'document',
    'navigator',
    'location',
    'fetch',
    'console',
    'URL',
    'URLSearchParams',
    'setTimeout',
    'clearTimeout',
    'HTMLElement',
    'Event',
    'localStorage',
    'sessionStorage',
  ].map((n) => [n, 'readonly']),
);

/*
 * Which folder may import which (docs/ARCHITECTURE.md explains why). Each entry forbids imports by pattern:
 * `inside(name)` matches a relative import of that folder from anywhere in the repo ('../storage/x',
 * '../src/storage/x', '../../cards/x'), `pkg(name)` a package and its subpaths.
 */
const inside = (folder) => `^(\\.\\./)+(src/)?${folder}(/|$)`;
const pkg = (name) => `^${name}(/|$)`;
const forbid = (message, ...regexes) => regexes.map((regex) => ({ regex, message }));
// The same, but `import type` stays allowed (a type is a contract, not a dependency at run time).
const forbidValues = (message, ...regexes) => regexes.map((regex) => ({ regex, message, allowTypeImports: true }));
const boundary = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns: patterns.flat(Infinity) }] });
const teamsPackages = (message) => forbid(message, '^botbuilder', '^botframework-');
const noTests = [
  forbid('Production code never imports tests.', '^(\\.\\./)+test/'),
  // The wiring builds everything; a part that imported it would depend on all the others.
  forbid('Only the composition root (src/app.ts) imports src/wiring.', inside('wiring')),
];
const deliveryRules = [
  forbid(
    'The delivery engine knows nothing of the conversation, the cards, the web or the domain.',
    inside('teams'),
    inside('dialogs'),
    inside('cards'),
    inside('web'),
    inside('groups'),
  ),
  forbid('HTTP serving lives in src/web.', pkg('restify')),
  noTests,
];
const teamsStartsNoDialogs = forbidValues(
  'Only the router (src/teams/conversation.ts) starts dialogs; other Teams modules use their types.',
  inside('dialogs'),
);
const teamsRules = [
  forbidValues(
    'The Teams glue reaches storage through the types of its ports; the wiring builds the stores.',
    inside('storage'),
    pkg('@azure/[^/]+'),
  ),
  forbidValues("The Teams glue may use the delivery engine's ports only.", '^(\\.\\./)+(src/)?delivery/(?!ports$)'),
  forbidValues("HTTP serving lives in src/web (the /api/messages handler uses restify's types only).", pkg('restify')),
  teamsStartsNoDialogs,
  noTests,
];
const storageRules = [
  forbid(
    'Storage implements ports; it knows nothing of the Teams glue, dialogs, cards, the web or sign-in.',
    inside('teams'),
    inside('dialogs'),
    inside('cards'),
    inside('web'),
    inside('auth'),
  ),
  forbid('HTTP serving lives in src/web.', pkg('restify')),
  noTests,
];

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
  {
    // The domain: plain TypeScript over its ports; errors from src/errors.ts and the delivery port only.
    files: ['src/groups/**/*.ts'],
    rules: boundary(
      teamsPackages('The domain (src/groups) knows nothing of Teams or botbuilder.'),
      forbid('The domain reaches storage only through its ports (src/groups/ports.ts).', pkg('@azure/[^/]+'), inside('storage')),
      forbid(
        'The domain knows nothing of the Teams glue, the web, sign-in, documents, dialogs or cards.',
        pkg('restify'),
        inside('teams'),
        inside('web'),
        inside('auth'),
        inside('documents'),
        inside('dialogs'),
        inside('cards'),
      ),
      forbid("The domain may use the delivery engine's ports only.", '^(\\.\\./)+(src/)?delivery/(?!ports$)'),
      noTests,
    ),
  },
  // Rooms of their own beside the domain (bulk add, issue 18; announcements and polls, issue 19): over the domain,
  // their own tables through the storage kit (as the delivery engine does), no Teams, web, dialogs or cards.
  ...[
    ['src/bulkadd', 'Bulk add'],
    ['src/actions', 'Announcements and polls'],
  ].map(([folder, room]) => ({
    files: [`${folder}/**/*.ts`],
    rules: boundary(
      teamsPackages(`${room}: nothing of Teams or botbuilder; the Teams glue calls it.`),
      forbid(
        `${room}: the storage kit (src/storage/tables.ts, partitionSweep.ts, groupCommit.ts) only; groups go through the domain.`,
        '^(\\.\\./)+(src/)?storage/(?!tables$|partitionSweep$|groupCommit$)',
      ),
      forbid(
        `${room}: nothing of the Teams glue, the web, dialogs or cards.`,
        pkg('restify'),
        inside('teams'),
        inside('web'),
        inside('dialogs'),
        inside('cards'),
      ),
      noTests,
    ),
  })),
  {
    // Importing a WhatsApp or Telegram export (issue 20): domain-level, like bulk add; the Teams glue and the web call it.
    files: ['src/import/**/*.ts'],
    rules: boundary(
      teamsPackages('The import knows nothing of Teams or botbuilder; the Teams glue calls it.'),
      forbid('The import reaches storage through its own ports.', inside('storage'), pkg('@azure/[^/]+')),
      forbid(
        'The import knows nothing of the Teams glue, the web, dialogs or cards.',
        pkg('restify'),
        inside('teams'),
        inside('web'),
        inside('dialogs'),
        inside('cards'),
      ),
      noTests,
    ),
  },
  {
    // The delivery engine: no botbuilder at all; the Bot Connector client only in its sender.
    files: ['src/delivery/**/*.ts'],
    ignores: ['src/delivery/botFrameworkSender.ts'],
    rules: boundary(
      teamsPackages('Only src/delivery/botFrameworkSender.ts talks to the Bot Connector; the engine sends through ChannelSender.'),
      deliveryRules,
    ),
  },
  {
    files: ['src/delivery/botFrameworkSender.ts'],
    rules: boundary(forbid('The sender needs the Bot Connector client only, not botbuilder.', '^botbuilder'), deliveryRules),
  },
  {
    // Storage: botbuilder only where it implements botbuilder's Storage interface.
    files: ['src/storage/**/*.ts'],
    ignores: ['src/storage/tableStorage.ts'],
    rules: boundary(teamsPackages('Storage knows nothing of Teams (only tableStorage.ts implements botbuilder Storage).'), storageRules),
  },
  {
    files: ['src/storage/tableStorage.ts'],
    rules: boundary(storageRules),
  },
  {
    // Document making (posters, emails): pure functions of their input.
    files: ['src/documents/**/*.ts'],
    rules: boundary(
      teamsPackages('Documents know nothing of Teams.'),
      forbid(
        'Documents are pure: no storage, domain, web, sign-in, delivery, Teams glue, dialogs or cards.',
        pkg('@azure/[^/]+'),
        pkg('restify'),
        inside('storage'),
        inside('groups'),
        inside('web'),
        inside('auth'),
        inside('delivery'),
        inside('teams'),
        inside('dialogs'),
        inside('cards'),
      ),
      noTests,
    ),
  },
  {
    // Sign-in and channel authentication.
    files: ['src/auth/**/*.ts'],
    rules: boundary(
      forbid(
        'Authentication knows nothing of storage, the domain, delivery, the web, the Teams glue, dialogs or cards.',
        inside('storage'),
        inside('groups'),
        inside('delivery'),
        inside('web'),
        inside('teams'),
        inside('dialogs'),
        inside('cards'),
      ),
      noTests,
    ),
  },
  {
    // Cards: builders of Adaptive Card JSON from plain data; they read nothing and decide nothing.
    files: ['cards/**/*.ts'],
    rules: boundary(
      forbid(
        'Cards are built from plain data: no storage, domain, web, delivery or sign-in (pass what they show).',
        inside('src'),
        pkg('@azure/[^/]+'),
        pkg('restify'),
      ),
      forbid('Cards know nothing of dialogs.', inside('dialogs'), pkg('botbuilder-dialogs'), pkg('botframework-connector')),
      noTests,
    ),
  },
  {
    // Outbound HTTP with its SSRF guard (the web is for inbound routes): Node's own http/https/dns only.
    files: ['src/http/**/*.ts'],
    rules: boundary(
      teamsPackages('Outbound HTTP knows nothing of Teams.'),
      forbid(
        'Outbound HTTP knows nothing of storage, the domain, the web, sign-in, delivery, documents, the Teams glue, dialogs or cards.',
        pkg('@azure/[^/]+'),
        pkg('restify'),
        inside('storage'),
        inside('groups'),
        inside('web'),
        inside('auth'),
        inside('delivery'),
        inside('documents'),
        inside('teams'),
        inside('dialogs'),
        inside('cards'),
      ),
      noTests,
    ),
  },
  {
    // The web (HTTP routes and pages): never the conversation.
    files: ['src/web/**/*.ts'],
    ignores: ['src/web/tab/client/**'],
    rules: boundary(
      forbid(
        'The web routes know nothing of the conversation (src/teams, dialogs).',
        inside('teams'),
        inside('dialogs'),
        pkg('botbuilder-dialogs'),
      ),
      noTests,
    ),
  },
  {
    // The Teams glue (src/teams): the turn from /api/messages to a reply. It may use the domain, cards, sign-in,
    // the web's URL builders and the dialogs; the stores and the delivery engine only through their ports (the
    // wiring builds them and passes them in).
    files: ['src/teams/**/*.ts'],
    rules: boundary(teamsRules),
  },
  {
    // The router starts the dialogs, so it alone may import them by value.
    files: ['src/teams/conversation.ts'],
    rules: boundary(teamsRules.filter((rule) => rule !== teamsStartsNoDialogs)),
  },
  {
    // Dialogs (each multi-turn conversation a ComponentDialog): cards, the domain, sign-in, and a small kit of
    // the Teams glue (reading a turn, who is speaking, replies, text helpers). The router starts them; a dialog
    // never reaches back into the router or the handler table (types only, e.g. the flow interfaces it implements).
    files: ['dialogs/**/*.ts'],
    rules: boundary(
      forbidValues(
        'A dialog may use src/teams/input/*, src/teams/replies and src/teams/handlers/groupActions (text helpers); the rest of src/teams only as types (the router starts dialogs, not the reverse).',
        '^(\\.\\./)+src/teams/(?!input/|replies$|handlers/groupActions$)',
      ),
      forbidValues('Dialogs get stores through their dependencies (types only).', inside('storage')),
      forbid(
        'Dialogs know nothing of HTTP routes, the delivery engine or the wiring.',
        inside('web'),
        inside('delivery'),
        pkg('@azure/[^/]+'),
        pkg('restify'),
      ),
      noTests,
    ),
  },
  {
    files: ['src/*.ts', 'src/wiring/**/*.ts'],
    rules: boundary(noTests),
  },
);
