//! Pre-initialisation of the JavaScript runner with Wizer: the runner's
//! `wizer.initialize` creates the QuickJS engine and evaluates the prelude,
//! and the memory and globals afterwards become the module every run starts
//! from. Wizer instruments and rewrites the module; running the instrumented
//! module in between is done here, on this host's engine.

use wasmtime::{Engine, Instance, Linker, Module, Store, Val};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

struct Snapshot<'a, T: 'static> {
    store: &'a mut Store<T>,
    instance: Instance,
}

impl<T: Send> InstanceState for Snapshot<'_, T> {
    async fn global_get(&mut self, name: &str, _type_hint: ValType) -> SnapshotVal {
        let global = self.instance.get_global(&mut *self.store, name).expect("Wizer exports every global it snapshots");
        match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            // The runner has no reference-typed globals.
            other => panic!("a global of an unsupported type: {other:?}"),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        let memory = self.instance.get_memory(&mut *self.store, name).expect("Wizer exports every memory it snapshots");
        contents(memory.data(&*self.store))
    }
}

/// Runs `init_func` of `wasm` and returns the pre-initialised module's bytes.
pub fn preinitialise<T: Send + 'static>(
    engine: &Engine,
    linker: &Linker<T>,
    data: T,
    wasm: &[u8],
    init_func: &str,
) -> wasmtime::Result<Vec<u8>> {
    let mut wizer = Wizer::new();
    wizer.init_func(init_func);
    let (cx, instrumented) = wizer.instrument(wasm)?;
    let module = Module::new(engine, &instrumented)?;
    let mut store = Store::new(engine, data);
    store.set_fuel(u64::MAX)?;
    store.set_epoch_deadline(u64::MAX);
    let instance = linker.instantiate(&mut store, &module)?;
    instance.get_typed_func::<(), ()>(&mut store, init_func)?.call(&mut store, ())?;
    pollster::block_on(wizer.snapshot(&cx, &mut Snapshot { store: &mut store, instance }))
}
