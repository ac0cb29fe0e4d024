// The Worker's entry: the module worker-build generates (build/index.js,
// the Rust code and its wasm-bindgen glue), with one step in front of it. A
// GET the core already answered with a response it marked the same for
// every GET of that URL (discovery and the JWKS, for a second; see
// `tessera_core::cache::ResponseCacheable` and edge/workers/src/glue.rs) is
// answered from JavaScript, without entering the Wasm module or creating the
// generated entrypoint class. Everything else goes to that class as the
// runtime would send it.
import Tessera from './build/index.js';

const cachedResponse = Symbol.for('tessera.cachedResponse');
const to = (handler) => (arg, env, ctx) => new Tessera(ctx, env)[handler](arg);
const fetchFromModule = to('fetch');

export default {
  fetch(request, env, ctx) {
    return globalThis[cachedResponse]?.(request) ?? fetchFromModule(request, env, ctx);
  },
  queue: to('queue'),
  scheduled: to('scheduled'),
};
