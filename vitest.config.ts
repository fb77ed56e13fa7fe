import { defineConfig } from "vitest/config"

const project = (name: string, root: string) => ({
  test: {
    name,
    root,
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})

export default defineConfig({
  test: {
    projects: [project("core", "packages/core")]
  }
})
