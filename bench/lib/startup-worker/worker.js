// For bench/worker-startup.mjs: holds Tessera's Wasm module (compiled by
// workerd when the Worker loads, as in production) and, on request,
// instantiates it `n` times with inert imports, the step every new isolate
// takes before its first request (the bundle's glue then calls
// `__wbindgen_start`, which this leaves out).
import mod from './index_bg.wasm';

function inertImports() {
  const imports = {};
  for (const { module, name, kind } of WebAssembly.Module.imports(mod)) {
    imports[module] ??= {};
    if (kind === 'function') imports[module][name] = () => undefined;
    else if (kind === 'tag') imports[module][name] = WebAssembly.JSTag;
    else throw new Error(`an import of kind ${kind} (${module}.${name}) the bench does not stub`);
  }
  return imports;
}

export default {
  fetch(request) {
    const n = Number(new URL(request.url).searchParams.get('n') || 0);
    const imports = inertImports();
    let pages = 0;
    for (let i = 0; i < n; i += 1) pages = new WebAssembly.Instance(mod, imports).exports.memory.buffer.byteLength / 65536;
    return new Response(String(pages));
  },
};
