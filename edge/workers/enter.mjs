// How a request enters the module: the generated entrypoint's own `fetch`
// called directly, not through the class worker-build exports. That class is
// a Proxy whose construction makes, per request, the entrypoint instance, a
// Proxy around it with a fresh handler object, and a Proxy around the
// method; its only work is to recover from a Wasm trap. Skipping it takes
// about 3.5 µs off each request inside one isolate (bench/in-isolate.mjs,
// interleaved rounds against the class); over HTTP that is within the
// benchmark's noise.
//
// The recovery stays. A trap leaves the Wasm instance unusable; worker-build
// notes it in `globalThis.__worker_init_state.criticalError` (the Rust panic
// hook sets it too) and makes a new instance the next time its class is
// constructed. So a trap seen here sets that flag, and while it is set a
// request goes through the class, whose constructor makes the new instance
// and clears it.
export function directFetch(Entrypoint, state) {
  const method = Entrypoint.prototype.fetch;
  const trapped = (e) => {
    if (e instanceof WebAssembly.RuntimeError) state.criticalError = true;
    throw e;
  };
  return (request, env, ctx) => {
    if (state === undefined || state.criticalError) return new Entrypoint(ctx, env).fetch(request);
    let answer;
    try {
      // The generated method reads only `this.env` and `this.ctx`.
      answer = method.call({ env, ctx }, request);
    } catch (e) {
      trapped(e);
    }
    return answer instanceof Promise ? answer.catch(trapped) : answer;
  };
}
