// Lint rules for the whole workspace (npm run lint): typescript-eslint's recommended set.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.demo/**', 'extension/out/**', '**/.vscode-test/**', 'templates/**/static/**', 'templates/*/services/**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // Template services: plain CommonJS for the stock Node 18 runtime image.
    files: ['templates/**/*.js', 'templates/**/*.cjs', 'test/fixtures/templates/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: Object.fromEntries(
        ['require', 'module', 'exports', '__dirname', '__filename', 'process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController',
          'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'fetch'].map((g) => [g, 'readonly']),
      ),
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['core/src/**/*.ts'],
    rules: { 'no-console': 'error', '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    // One path to the API server: core's requests and watches go through kube/raw.ts (see
    // docs/kubernetes-facts.md). The Cluster's typed clients stay for tests and tools.
    files: ['core/src/**/*.ts'],
    ignores: ['core/src/kube/client.ts'],
    rules: {
      'no-restricted-properties': ['error', ...['core', 'apps', 'batch', 'autoscaling', 'rbac', 'networking', 'objects'].map((property) => ({
        object: 'cluster', property, message: 'Call the API server through kube/raw.ts (raw.get/list/create/patch, watchUntil).',
      }))],
      'no-restricted-imports': ['error', { paths: [{ name: '@kubernetes/client-node', importNames: ['Watch', 'KubernetesObjectApi', 'CoreV1Api', 'AppsV1Api', 'BatchV1Api', 'AuthenticationV1Api'], message: 'Use kube/raw.ts (and kube/watch.ts).' }] }],
    },
  },
);
