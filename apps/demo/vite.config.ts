import { defineConfig } from 'vite';

// The demo host app; `pnpm start` serves its build next to the API.
export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': { target: 'http://localhost:8787', ws: true } } },
});
