//! The actions host: runs tenant action hooks in a Wasmtime sandbox and
//! delivers log streams. Not built yet: this binary only says so, and exits
//! non-zero so nothing mistakes it for a working host.

fn main() {
    eprintln!("tessera-actions-host: not implemented yet (see the actions and log-streaming issues)");
    std::process::exit(2);
}
