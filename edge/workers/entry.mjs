// The Worker's entry: the module worker-build generates (build/index.js,
// the Rust code and its wasm-bindgen glue), with one step in front of it. A
// GET the core already answered with a response it marked the same for
// every GET of that URL (discovery and the JWKS, for a second; see
// `tessera_core::cache::ResponseCacheable` and edge/workers/src/glue.rs) is
// answered from JavaScript, without entering the Wasm module or creating the
// generated entrypoint class. A small body declared by its Content-Length (a
// token request's form) is read here before the module is entered, so the
// module does not wait for it (see `glue::body`). Everything else goes to
// the module, through `directFetch` (enter.mjs), as the runtime would send it.
import Tessera from './build/index.js';
import { directFetch } from './enter.mjs';

const cachedResponse = Symbol.for('tessera.cachedResponse');
const to = (handler) => (arg, env, ctx) => new Tessera(ctx, env)[handler](arg);
const fetchFromModule = directFetch(Tessera, globalThis.__worker_init_state);
const readBodies = Symbol.for('tessera.readBodies');
// What every route accepts (`tessera_core::web::request::MAX_BODY_BYTES`);
// a larger body is the module's to read or refuse by its own limits.
const READ_AHEAD_BYTES = 64 * 1024;
// Bodies read here, for the module to take (`tessera_request_body` in
// edge/workers/src/glue.rs, which made the map).
const bodies = globalThis[readBodies];

export default {
  fetch(request, env, ctx) {
    const cached = globalThis[cachedResponse]?.(request);
    if (cached !== undefined) return cached;
    const declared = request.method === 'GET' || request.method === 'HEAD' ? null : request.headers.get('content-length');
    if (declared === null || !/^[0-9]{1,7}$/.test(declared) || Number(declared) > READ_AHEAD_BYTES) {
      return fetchFromModule(request, env, ctx);
    }
    // A body that cannot be read (the client went away) is an empty one, as
    // the module would take it.
    const enter = (bytes) => {
      bodies.set(request, bytes);
      return fetchFromModule(request, env, ctx);
    };
    return request.arrayBuffer().then((b) => enter(new Uint8Array(b)), () => enter(new Uint8Array(0)));
  },
  queue: to('queue'),
  scheduled: to('scheduled'),
};
