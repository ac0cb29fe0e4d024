// For bench/in-isolate.mjs: `/loop?which=tessera&n=N&path=P` hands N
// requests for P to Tessera's entry (edge/workers/entry.mjs), one after the
// other, inside this one request; `which=empty` builds the same N requests
// and answers each as the empty Worker does. A request carrying `x-body`
// makes them POSTs with that body; `evict` is below. Any other path is
// Tessera's, for setup.
import tessera from '../../../edge/workers/entry.mjs';

const empty = { fetch: () => new Response('ok') };

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== '/loop') return tessera.fetch(request, env, ctx);
    const n = Number(url.searchParams.get('n') || 1000);
    const worker = url.searchParams.get('which') === 'tessera' ? tessera : empty;
    const target = `${url.origin}${url.searchParams.get('path') || '/healthz'}`;
    const body = request.headers.get('x-body');
    const headers = [...request.headers].filter(([k]) => k !== 'content-length' && k !== 'x-body');
    const method = body === null ? 'GET' : 'POST';
    // As an HTTP client sends it (a Request built here has none).
    if (body !== null) headers.push(['content-length', String(new TextEncoder().encode(body).length)]);
    // `evict=BYTES`: written between two requests, a line apart, so the
    // next request finds the CPU's caches holding this array instead of the
    // module's code and data (bench/in-isolate.mjs, BENCH_COLD).
    const evict = Number(url.searchParams.get('evict') || 0);
    const junk = evict > 0 ? new Uint8Array(evict) : null;
    let failed = 0;
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      const resp = await worker.fetch(new Request(target, { method, headers, body }), env, ctx);
      await resp.arrayBuffer();
      if (resp.status !== 200) failed += 1;
      if (junk !== null) for (let j = 0; j < junk.length; j += 64) junk[j] += 1;
    }
    // The loop's own time too: the isolate runs on one thread, so with the
    // machine otherwise idle its wall time is about its CPU time, read more
    // finely than /proc's 10 ms ticks and mostly without the queue
    // consumer's work, which comes after (or between two awaits).
    return new Response(`${failed} ${performance.now() - started}`);
  },
  queue: (...args) => tessera.queue(...args),
};
