// Build the control-centre bundle into the Python package (src/cityos/web/static/).
// Our modules are bundled and minified by esbuild; MapLibre's own ES module and worker are copied
// beside them (the worker is found relative to the library's module URL).
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here('../src/cityos/web/static/');
const maplibre = here('node_modules/maplibre-gl/');

const maplibreExternal = {
  name: 'maplibre-external',
  setup(build) {
    build.onResolve({ filter: /^maplibre-gl$/ }, () => ({ path: './maplibre-gl.mjs', external: true }));
  },
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

await esbuild.build({
  entryPoints: {
    app: here('src/main.js'),
    scenarios: here('src/scenarios.js'),
    portal: here('src/portal.js'),
  },
  outdir: out,
  bundle: true,
  format: 'esm',
  minify: true,
  target: ['chrome111', 'firefox115', 'safari16.4'],
  legalComments: 'none',
  plugins: [maplibreExternal],
  logLevel: 'warning',
});
await esbuild.build({
  entryPoints: { app: here('src/app.css') },
  outdir: out,
  bundle: true,
  minify: true,
  loader: { '.svg': 'dataurl' },
  target: ['chrome111', 'firefox115', 'safari16.4'],
  logLevel: 'warning',
});

// Copy the library without its source-map comment: the maps are not shipped.
for (const name of ['maplibre-gl.mjs', 'maplibre-gl-worker.mjs']) {
  const text = await readFile(`${maplibre}dist/${name}`, 'utf8');
  await writeFile(`${out}${name}`, text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
}
await copyFile(`${maplibre}LICENSE.txt`, `${out}LICENSE-maplibre-gl.txt`);
await copyFile(here('index.html'), `${out}index.html`);
for (const page of ['scenarios.html', 'portal.html']) await copyFile(here(page), `${out}${page}`);

// Map label glyphs: signed-distance-field PBF ranges of Noto Sans Regular, prebuilt in the npm
// package tileserver-gl-styles. Only the ranges our names use are shipped (Basic Latin + Latin-1,
// Latin Extended-A, General Punctuation); Hangul is drawn by the browser from a local font
// (MapLibre's localIdeographFontFamily), so no CJK ranges are needed.
const FONT = 'Noto Sans Regular';
const GLYPH_RANGES = ['0-255', '256-511', '8192-8447'];
const fonts = here('node_modules/tileserver-gl-styles/');
await mkdir(`${out}fonts/${FONT}`, { recursive: true });
for (const range of GLYPH_RANGES) {
  await copyFile(`${fonts}fonts/${FONT}/${range}.pbf`, `${out}fonts/${FONT}/${range}.pbf`);
}
await copyFile(`${fonts}LICENSE.md`, `${out}fonts/LICENSE-tileserver-gl-styles.txt`);
await writeFile(
  `${out}fonts/NOTICE.txt`,
  `${FONT} glyphs (ranges ${GLYPH_RANGES.join(', ')}), SDF PBFs from the npm package ` +
    'tileserver-gl-styles 2.0.0. Noto Sans is Copyright Google LLC, licensed under the SIL Open ' +
    'Font License 1.1; the package licence is in LICENSE-tileserver-gl-styles.txt.\n',
);

let total = 0;
const pages = ['index.html', 'app.js', 'app.css', 'scenarios.html', 'scenarios.js', 'portal.html', 'portal.js'];
for (const name of [...pages, 'maplibre-gl.mjs', 'maplibre-gl-worker.mjs']) {
  const { size } = await stat(`${out}${name}`);
  total += size;
  console.log(`${name.padEnd(24)} ${(size / 1024).toFixed(1).padStart(8)} KiB`);
}
for (const range of GLYPH_RANGES) {
  const { size } = await stat(`${out}fonts/${FONT}/${range}.pbf`);
  total += size;
  console.log(`${`glyphs ${range}`.padEnd(24)} ${(size / 1024).toFixed(1).padStart(8)} KiB`);
}
console.log(`${'total'.padEnd(24)} ${(total / 1024).toFixed(1).padStart(8)} KiB`);
