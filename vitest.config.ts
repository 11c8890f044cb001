import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e tests spawn real processes; two workers on a 2-core CI machine.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
