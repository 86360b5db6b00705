import { defineConfig } from 'vite';

// The shop is static: Vite builds src/web into dist/public (hashed assets under /assets), which the Node server
// in src/server serves. JSX is Preact's automatic runtime, compiled by Vite's own transformer (no Babel).
export default defineConfig({
  root: 'src/web',
  publicDir: 'public',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../../dist/public',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // Everything the browser needs comes from this origin: no inlined data: assets that the CSP would refuse.
    assetsInlineLimit: 0,
  },
  server: {
    // `npx vite` against a running `npm start`: the API and its event streams on the gateway.
    proxy: { '/api': { target: process.env.SHOP_API_URL ?? 'http://127.0.0.1:8080', changeOrigin: true } },
  },
});
