import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by the Cairn server itself (apps/server/src/console) from web/dist. `npm run dev -w
// @cairn/web` serves it with hot reload and forwards the APIs to a member on CAIRN_URL (default :2379).
const target = process.env['CAIRN_URL'] ?? 'http://127.0.0.1:2379';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: Object.fromEntries(['/api', '/v3', '/health', '/metrics', '/version'].map((p) => [p, target])),
  },
});
