// Builds the map screen into dist/ (not committed): esbuild bundles src/main.js with
// MapLibre GL JS and graphql-ws; index.html, style.css and MapLibre's CSS are copied.
// `npm run check` is the format and lint step of scripts/test (Prettier, ESLint).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';

const here = new URL('.', import.meta.url).pathname;

rmSync(`${here}dist`, { recursive: true, force: true });
mkdirSync(`${here}dist/assets`, { recursive: true });
await build({
  entryPoints: [`${here}src/main.js`],
  bundle: true,
  format: 'esm',
  minify: true,
  sourcemap: true,
  target: 'es2020',
  outfile: `${here}dist/assets/screen.js`,
  logLevel: 'warning',
});
copyFileSync(`${here}index.html`, `${here}dist/index.html`);
copyFileSync(`${here}style.css`, `${here}dist/assets/style.css`);
copyFileSync(
  `${here}node_modules/maplibre-gl/dist/maplibre-gl.css`,
  `${here}dist/assets/maplibre-gl.css`,
);
console.log('screen: built into screen/dist');
