// What the Workers benchmarks share: a Worker under wrangler's dev server
// with its processes found (bench/lib/dev-server.mjs), and CPU read from
// /proc.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { freePort, root } from '../../scripts/lib/wrangler.mjs';

const TICK_MS = 1000 / 100; // USER_HZ

export function cpuMs(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime + stime
    } catch { /* exited */ }
  }
  return ticks * TICK_MS;
}

// The same to the nanosecond, from the scheduler's own account of each of
// the processes' threads (/proc/PID/task/TID/schedstat, whose first field
// is the time run), where /proc/PID/stat counts 10 ms ticks: 600 token
// requests inside one isolate take about 15 of them. A thread that exits
// takes its time with it, so this is for a process whose threads live as
// long as it does (workerd's).
export function cpuMsExact(pids) {
  let ns = 0;
  for (const pid of pids) {
    let tids = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch { /* exited */ }
    for (const tid of tids) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch { /* exited */ }
    }
  }
  return ns / 1e6;
}

function descendants(pid) {
  const children = new Map();
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(p));
    } catch { /* gone */ }
  }
  const out = [];
  const walk = (p) => { for (const c of children.get(p) || []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

/** A Worker under wrangler's dev server (bench/lib/dev-server.mjs). */
export async function startDevServer(config, persist, secrets = {}) {
  const port = await freePort();
  const args = [path.join(root, 'bench/lib/dev-server.mjs'), config, String(port), persist ?? '-'];
  for (const [k, v] of Object.entries(secrets)) args.push(`${k}=${v}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  // However this script ends, the dev server's processes end with it.
  process.on('exit', () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
    child.once('exit', (c) => reject(new Error(`the dev server exited ${c}`)));
  });
  // The proxy workerd listens on the public port; the runtime on an internal
  // one. Both are up once the Worker answers (and only then, for certain).
  const url = `http://127.0.0.1:${port}`;
  const cmdline = (p) => { try { return readFileSync(`/proc/${p}/cmdline`, 'utf8'); } catch { return ''; } };
  let pids = [];
  let runtime = [];
  for (let i = 0; i < 100 && runtime.length !== 1; i += 1) {
    try { await (await fetch(`${url}/`)).arrayBuffer(); } catch { /* not yet */ }
    pids = [child.pid, ...descendants(child.pid)];
    runtime = pids.filter((p) => cmdline(p).includes('workerd') && !cmdline(p).includes(`entry=127.0.0.1:${port}`));
    if (runtime.length !== 1) await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async () => {
    await new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill('SIGTERM');
      setTimeout(resolve, 5000).unref();
    });
    // Whatever of it still runs (workerd) goes with its process group.
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  if (runtime.length !== 1) {
    await stop();
    throw new Error(`expected one runtime workerd, found ${runtime.length}`);
  }
  return { url, groups: { runtime, 'dev proxy': pids.filter((p) => !runtime.includes(p)) }, stop };
}

/** `requests` requests, `concurrency` at a time: each one's latency. */
async function drive(name, makeRequest, { requests, concurrency }) {
  const latencies = [];
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < requests) {
      next += 1;
      const t = process.hrtime.bigint();
      const r = await makeRequest();
      await r.arrayBuffer();
      if (r.status !== 200 && !name.includes('floor')) failures += 1;
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, failures };
}

// A row from what was measured: req/s over the time under load, latency
// quantiles, CPU per request by group.
function summary(name, groups, { latencies, seconds, cpu, failures }) {
  const names = Object.keys(groups);
  const per = names.map((g) => cpu[g] / latencies.length);
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  const parts = names.length > 1 ? Object.fromEntries(names.map((g, i) => [g, per[i]])) : undefined;
  const cpuPerReq = per.reduce((a, b) => a + b, 0);
  return { name, rps: latencies.length / seconds, p50: q(0.5), p99: q(0.99), cpuPerReq, parts, failures };
}

const cpuByGroup = (groups) => Object.fromEntries(Object.entries(groups).map(([g, pids]) => [g, cpuMs(pids)]));

/**
 * `requests` requests, `concurrency` at a time; `groups`: name -> pids, the
 * row's CPU is their sum, with the split, read at the last answer.
 */
export async function load(name, groups, makeRequest, { requests, concurrency }) {
  const [r] = await interleaved([{ name, groups, makeRequest }], { requests, rounds: 1, concurrency, settleMs: 0 });
  return r;
}

/**
 * Rows measured in turns rather than one after the other: in each of
 * `rounds` rounds every entry (`{ name, groups, makeRequest }`) gets its
 * share of `requests`. The CPU of a group named `runtime` is read
 * `settleMs` after the turn's last answer, so that work a request leaves
 * behind there (the queue consumer storing its audit event, about a second
 * later) is counted with it and not with whatever runs next (its idle CPU
 * is nil); every other group's is read at the last answer, since wrangler's
 * Node process spends 10-25 ms a second idle. On this shared machine the
 * CPU a request costs drifts by a third over minutes; rows run in turns see
 * the same drift, so their differences hold where those of rows run a
 * minute apart did not.
 */
export async function interleaved(entries, { requests, rounds, concurrency, settleMs }) {
  const acc = entries.map((e) => ({ latencies: [], seconds: 0, failures: 0, cpu: Object.fromEntries(Object.keys(e.groups).map((g) => [g, 0])) }));
  for (let r = 0; r < rounds; r += 1) {
    const n = Math.floor(requests / rounds) + (r < requests % rounds ? 1 : 0);
    for (const [i, e] of entries.entries()) {
      const before = cpuByGroup(e.groups);
      const started = process.hrtime.bigint();
      const { latencies, failures } = await drive(e.name, e.makeRequest, { requests: n, concurrency });
      acc[i].seconds += Number(process.hrtime.bigint() - started) / 1e9;
      const answered = cpuByGroup(e.groups);
      if (e.groups.runtime && settleMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, settleMs));
        answered.runtime = cpuMs(e.groups.runtime);
      }
      for (const g of Object.keys(e.groups)) acc[i].cpu[g] += answered[g] - before[g];
      acc[i].latencies.push(...latencies);
      acc[i].failures += failures;
    }
  }
  return entries.map((e, i) => summary(e.name, e.groups, acc[i]));
}

export function row(r) {
  const split = r.parts ? `  (${Object.entries(r.parts).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})` : '';
  return `${r.name.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms   cpu ${r.cpuPerReq.toFixed(2).padStart(6)} ms/req${split}${r.failures ? `   FAILURES ${r.failures}` : ''}`;
}
