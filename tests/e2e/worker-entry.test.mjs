// The Worker's entry into its module (edge/workers/enter.mjs), with a
// stand-in for the class worker-build generates: requests go to the
// generated `fetch` directly, and after a Wasm trap, through the class,
// whose constructor is where worker-build makes a new instance.
import assert from 'node:assert/strict';
import test from 'node:test';
import { directFetch } from '../../edge/workers/enter.mjs';

function generated(state, answer) {
  const seen = { constructed: 0, calls: [] };
  class Entrypoint {
    constructor(ctx, env) {
      seen.constructed += 1;
      // What worker-build's construct hook does on a critical error.
      if (state.criticalError) state.criticalError = false;
      this.ctx = ctx;
      this.env = env;
    }
  }
  // As worker-build generates it: reads `this.env` and `this.ctx`.
  Entrypoint.prototype.fetch = function (request) {
    seen.calls.push([request, this.env, this.ctx]);
    return answer(request);
  };
  return { Entrypoint, seen };
}

test('a request reaches the generated fetch with its env and ctx, without constructing the class', () => {
  const state = { criticalError: false };
  const { Entrypoint, seen } = generated(state, (r) => `answer to ${r}`);
  const enter = directFetch(Entrypoint, state);
  assert.equal(enter('req', 'env', 'ctx'), 'answer to req');
  assert.equal(enter('again', 'env2', 'ctx2'), 'answer to again');
  assert.deepEqual(seen.calls, [['req', 'env', 'ctx'], ['again', 'env2', 'ctx2']]);
  assert.equal(seen.constructed, 0);
});

test('after a Wasm trap, thrown or in the promise, the next request goes through the class, which recovers', async () => {
  const state = { criticalError: false };
  let trap = 'sync';
  const { Entrypoint, seen } = generated(state, (r) => {
    if (trap === 'sync') { trap = null; throw new WebAssembly.RuntimeError('unreachable'); }
    if (trap === 'async') { trap = null; return Promise.reject(new WebAssembly.RuntimeError('unreachable')); }
    return `answer to ${r}`;
  });
  const enter = directFetch(Entrypoint, state);
  assert.throws(() => enter('a', 'env', 'ctx'), WebAssembly.RuntimeError);
  assert.equal(state.criticalError, true);
  assert.equal(enter('b', 'env', 'ctx'), 'answer to b');
  assert.equal(seen.constructed, 1);
  assert.equal(state.criticalError, false);
  // Back to the direct path.
  assert.equal(enter('c', 'env', 'ctx'), 'answer to c');
  assert.equal(seen.constructed, 1);
  trap = 'async';
  await assert.rejects(enter('d', 'env', 'ctx'), WebAssembly.RuntimeError);
  assert.equal(state.criticalError, true);
  assert.equal(enter('e', 'env', 'ctx'), 'answer to e');
  assert.equal(seen.constructed, 2);
});

test('an ordinary error does not make the next request rebuild the instance', async () => {
  const state = { criticalError: false };
  let fail = true;
  const { Entrypoint, seen } = generated(state, () => {
    if (fail) { fail = false; throw new TypeError('not a trap'); }
    return Promise.resolve('ok');
  });
  const enter = directFetch(Entrypoint, state);
  assert.throws(() => enter('a', 'env', 'ctx'), TypeError);
  assert.equal(state.criticalError, false);
  assert.equal(await enter('b', 'env', 'ctx'), 'ok');
  assert.equal(seen.constructed, 0);
});

test('a panic noted by the module itself (its panic hook sets the flag) sends the next request through the class', () => {
  const state = { criticalError: false };
  const { Entrypoint, seen } = generated(state, () => 'ok');
  const enter = directFetch(Entrypoint, state);
  state.criticalError = true;
  assert.equal(enter('a', 'env', 'ctx'), 'ok');
  assert.equal(seen.constructed, 1);
  assert.equal(state.criticalError, false);
});
