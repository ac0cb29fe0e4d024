// Builds the Spin component and checks, with `jco wit` (the component's
// WIT world), that it imports only WASI and Spin interfaces and exports the
// WASI HTTP handler. Prints its size beside the Workers bundle's.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { root } from './lib/wrangler.mjs';

execFileSync('cargo', ['build', '-q', '-p', 'tessera-spin', '--target', 'wasm32-wasip2', '--release'], { cwd: root, stdio: 'inherit' });
const wasm = path.join(root, 'target/wasm32-wasip2/release/tessera_spin.wasm');
const wit = execFileSync(path.join(root, 'node_modules/.bin/jco'), ['wit', wasm], { encoding: 'utf8' });
const imports = [...wit.matchAll(/^\s*import ([^;]+);/gm)].map((m) => m[1]);
const exports = [...wit.matchAll(/^\s*export ([^;]+);/gm)].map((m) => m[1]);
const allowed = /^(wasi:(io|clocks|http|cli|random)\/|fermyon:spin\/(sqlite|key-value|variables)@)/;
const foreign = imports.filter((i) => !allowed.test(i));
if (foreign.length) {
  console.error(`the Spin component imports interfaces outside WASI and Spin: ${foreign.join(', ')}`);
  process.exit(1);
}
if (!exports.some((e) => e.startsWith('wasi:http/incoming-handler@0.2'))) {
  console.error(`the Spin component does not export wasi:http/incoming-handler@0.2: ${exports.join(', ')}`);
  process.exit(1);
}
const bytes = readFileSync(wasm);
console.log(`spin component: ${imports.length} imports, all WASI or Spin; exports ${exports.join(', ')}`);
console.log(`spin component: ${Math.round(bytes.length / 1024)} KB raw, ${Math.round(gzipSync(bytes, { level: 9 }).length / 1024)} KB gzip`);
