import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The demo host app and the elements' reference page; `pnpm start` serves the build next to the API.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        reference: resolve(import.meta.dirname, 'reference.html'),
      },
    },
  },
  server: { proxy: { '/api': { target: 'http://localhost:8787', ws: true } } },
});
