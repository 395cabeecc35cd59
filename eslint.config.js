// Lint: typescript-eslint's type-aware recommended rules, so floating
// promises and misused async callbacks in the supervisor are caught; and the
// Host seam (supervisor/host/host.ts), so side effects stay behind it.
import tseslint from 'typescript-eslint';

/** Modules that touch the machine directly. Only the adapters below may import them. */
const SIDE_EFFECT_MODULES = [
  'node:fs',
  'node:fs/promises',
  'fs',
  'fs/promises',
  'node:child_process',
  'child_process',
  'node:net',
  'net',
  // The ESM namespace of node:http also loads undici (+15 MB resident):
  // the adapters require() it instead (supervisor/host/node-http-server.ts).
  'node:http',
  'http',
  'node:https',
  'https',
  'node:dgram',
  'dgram',
  'execa',
];

/** Properties the supervisor's code may not use, and why. */
const ONLY_CLI_EXITS = { object: 'process', property: 'exit', message: 'Only the CLI entry ends the process: use host.exit.' };
const NO_ICU_TIME = { property: 'toISOString', message: "isoTime (supervisor/iso-time.ts): V8's toISOString loads ICU's time zone data into the supervisor." };
const NO_COLLATOR = { property: 'localeCompare', message: "Compare with < and >: localeCompare loads ICU's collator into the supervisor." };

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.outlast/', 'bench/results/'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Route handlers are async by contract even when they don't await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        ONLY_CLI_EXITS,
        NO_ICU_TIME,
        NO_COLLATOR,
      ],
    },
  },
  {
    // `outlast audit` runs in the short-lived CLI, never in a supervisor: its findings sort as people read them.
    files: ['supervisor/audit/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ONLY_CLI_EXITS,
        NO_ICU_TIME,
      ],
    },
  },
  {
    // The status page runs in a browser as plain modules: the browser's globals, nothing else.
    files: ['supervisor/api/page/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['document', 'window', 'location', 'history', 'fetch', 'EventSource', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'setInterval'].map((name) => [name, 'readonly']),
      ),
    },
    rules: { 'no-undef': 'error', 'no-unused-vars': 'error' },
  },
  {
    // The process entries: the CLI's two, and the update source's child (supervisor/update/sources/apart-main.ts).
    files: ['supervisor/cli/main.ts', 'supervisor/cli/run-main.ts', 'supervisor/update/sources/apart-main.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // A type names a shape; it performs nothing.
          paths: SIDE_EFFECT_MODULES.map((name) => ({
            name,
            allowTypeImports: true,
            message: 'Side effects go through the Host (supervisor/host/host.ts): take the Host, or a Pick of it, as a parameter.',
          })),
        },
      ],
    },
  },
  {
    // The allow-list: where the machine is touched on purpose. Keep it short.
    files: [
      // The Host itself: node-host.ts, node-fs.ts, node-net.ts, node-locks.ts bind it to Node.
      'supervisor/host/**',
      // The /proc snapshot reader: synchronous, O_NONBLOCK reads for platform detection
      // and signal-time snapshots; the Host's readSync and readPlatform are bound to it.
      'platform/snapshot-reader.ts',
      // The audit's adapters: reading the user's source tree, and probing the live service.
      'supervisor/audit/node-fs.ts',
      'supervisor/audit/live/node-live-net.ts',
      // outlast/shutdown: a library that runs inside the user's service, not in the supervisor.
      'supervisor/shutdown/**',
      // Locating outlast's own shipped files next to the module (package.json, scripts/, bin/, the status page).
      'supervisor/version.ts',
      'supervisor/install/paths.ts',
      'supervisor/api/page-files.ts',
      // Process edges and standalone programs: the entry shim, the shell-side helpers, example services.
      'bin/**',
      'scripts/**',
      // Build-time generators of the repo's own files (the config's JSON Schema).
      'tools/**',
      'examples/**',
      // Tests and benchmarks drive real processes, files and sockets by design.
      'test/**',
      'bench/**',
    ],
    rules: { 'no-restricted-imports': 'off' },
  },
);
