// The Worker's startup cost on workerd (the runtime wrangler dev and
// Cloudflare run): how long a workerd process takes from launch to its
// first answer with Tessera's Wasm module in its Worker, against the same
// Worker without it (the difference is loading and compiling the module as
// workerd does it), and what one instantiation of the compiled module
// costs (a request instantiating it 20 times against one that does not).
// Prints the bundle it measured, raw and gzip.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort, root } from '../scripts/lib/wrangler.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 7);
const wasm = path.join(root, 'edge/workers/build/index_bg.wasm');
const workerd = path.join(root, 'node_modules/.bin/workerd');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-startup-'));
copyFileSync(wasm, path.join(dir, 'index_bg.wasm'));
for (const f of ['worker.js', 'empty.js']) copyFileSync(path.join(root, 'bench/lib/startup-worker', f), path.join(dir, f));

/** A workerd config serving `main` (with the Wasm module or without) on `port`. */
function config(port, withWasm) {
  const modules = withWasm
    ? '(name = "worker.js", esModule = embed "worker.js"), (name = "index_bg.wasm", wasm = embed "index_bg.wasm")'
    : '(name = "worker.js", esModule = embed "empty.js")';
  const file = path.join(dir, `config-${withWasm ? 'wasm' : 'empty'}.capnp`);
  writeFileSync(file, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = (modules = [ ${modules} ], compatibilityDate = "2026-04-01")) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
`);
  return file;
}

/** Launches workerd, waits for its first answer, returns the time it took and the running process. */
async function launch(withWasm) {
  const port = await freePort();
  const file = config(port, withWasm);
  const t0 = process.hrtime.bigint();
  const child = spawn(workerd, ['serve', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      await r.text();
      if (r.status === 200) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null) throw new Error(`workerd exited ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, port, child };
}

const stop = (child) => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGKILL'); });

try {
  const empty = [];
  const loaded = [];
  for (let i = 0; i < RUNS + 1; i += 1) {
    const a = await launch(false);
    await stop(a.child);
    const b = await launch(true);
    await stop(b.child);
    if (i > 0) { empty.push(a.ms); loaded.push(b.ms); } // the first launch warms the disk cache
  }
  const { port, child } = await launch(true);
  try {
    const timed = async (n) => {
      const t0 = process.hrtime.bigint();
      const r = await fetch(`http://127.0.0.1:${port}/?n=${n}`);
      const pages = Number(await r.text());
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, pages };
    };
    const none = [];
    const twenty = [];
    let pages = 0;
    for (let i = 0; i < 9; i += 1) {
      none.push((await timed(0)).ms);
      const t = await timed(20);
      twenty.push(t.ms);
      pages = t.pages;
    }
    const instantiate = (median(twenty) - median(none)) / 20;
    const raw = statSync(wasm).size;
    const gz = gzipSync(readFileSync(wasm), { level: 9 }).length;
    console.log(`Worker startup on workerd (${path.relative(root, wasm)}: ${(raw / 1024).toFixed(0)} KB raw, ${(gz / 1024).toFixed(0)} KB gzip), median of ${RUNS} launches`);
    console.log(`  launch to first answer, a Worker without the module  ${median(empty).toFixed(1).padStart(7)} ms`);
    console.log(`  launch to first answer, a Worker with the module     ${median(loaded).toFixed(1).padStart(7)} ms`);
    console.log(`  loading and compiling the module (the difference)    ${(median(loaded) - median(empty)).toFixed(1).padStart(7)} ms`);
    console.log(`  one instantiation of the compiled module             ${instantiate.toFixed(2).padStart(7)} ms (initial linear memory ${(pages * 64).toFixed(0)} KB)`);
  } finally {
    await stop(child);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
