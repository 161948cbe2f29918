import { defineConfig } from 'vitest/config';

// Five tiers, runnable alone (`vitest run --project unit`) or together (`npm test`). `installed`
// drives the package as shipped: packed and installed once per run by its global setup.
// Every tier runs with TZ=UTC so that file-name timestamps mean the same everywhere.
export default defineConfig({
  test: {
    env: { TZ: 'UTC' },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], env: { TZ: 'UTC' } } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          env: { TZ: 'UTC' },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          env: { TZ: 'UTC' },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          env: { TZ: 'UTC' },
          testTimeout: 240_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'installed',
          include: ['test/installed/**/*.test.ts'],
          globalSetup: ['test/installed/global-setup.ts'],
          env: { TZ: 'UTC' },
          testTimeout: 240_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
