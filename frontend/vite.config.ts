import { defineConfig } from "vitest/config";

// Django serves the build from /static/ (whitenoise); `npm run dev` proxies the API to Django.
declare const process: { env: Record<string, string | undefined> };
const DJANGO = process.env.MASKLET_DJANGO ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/static/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
  server: {
    port: 5173,
    proxy: {
      "/api": { target: DJANGO, changeOrigin: false },
      "/media": { target: DJANGO, changeOrigin: false },
      "/admin": { target: DJANGO, changeOrigin: false },
    },
  },
  worker: { format: "es" },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
