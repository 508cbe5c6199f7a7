import { defineConfig } from "vitest/config";

// Relative asset paths let the same build be served from the root of any origin: the gateway's, or
// a service's that serves the page on its own.
export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    target: "es2022",
  },
  test: {
    include: ["tests/**/*.test.ts"],
    environment: "node",
    restoreMocks: true,
  },
});
