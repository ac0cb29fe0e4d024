// The startup bench's yardstick: no Wasm module at all.
export default { fetch: () => new Response('0') };
