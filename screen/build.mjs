// Builds the map screen into dist/ (not committed): esbuild bundles src/main.js with
// MapLibre GL JS and graphql-ws; index.html, style.css and MapLibre's CSS are copied.
// `node build.mjs --check` only parses every module (the lint step of scripts/test).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const here = new URL('.', import.meta.url).pathname;

if (process.argv.includes('--check')) {
  for (const name of readdirSync(`${here}src`).filter((n) => n.endsWith('.js'))) {
    execFileSync(process.execPath, ['--check', `${here}src/${name}`], { stdio: 'inherit' });
  }
  console.log('screen: every module parses');
} else {
  rmSync(`${here}dist`, { recursive: true, force: true });
  mkdirSync(`${here}dist/assets`, { recursive: true });
  await build({
    entryPoints: [`${here}src/main.js`], bundle: true, format: 'esm', minify: true,
    sourcemap: true, target: 'es2020', outfile: `${here}dist/assets/screen.js`, logLevel: 'warning',
  });
  copyFileSync(`${here}index.html`, `${here}dist/index.html`);
  copyFileSync(`${here}style.css`, `${here}dist/assets/style.css`);
  copyFileSync(`${here}node_modules/maplibre-gl/dist/maplibre-gl.css`,
    `${here}dist/assets/maplibre-gl.css`);
  console.log('screen: built into screen/dist');
}
