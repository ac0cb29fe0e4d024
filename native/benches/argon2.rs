//! Prints the native Argon2id hash time with the production parameters
//! (compare with bench/argon2-worker.mjs, which times it inside workerd).

use std::time::Instant;

use tessera_core::types::Secret;
use tessera_core::users::password;

fn main() {
    let pw = Secret::new("benchmark password".to_string());
    // Warm up allocator and caches.
    password::hash(&pw, [0; 16]).expect("hash");
    let n = 20;
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        password::hash(&pw, [i as u8; 16]).expect("hash");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let mean = times.iter().sum::<f64>() / n as f64;
    println!(
        "argon2id native (m={} KiB, t={}, p={}): median {:.1} ms, mean {:.1} ms, min {:.1} ms over {n} hashes",
        password::M_COST_KIB,
        password::T_COST,
        password::P_COST,
        times[n / 2],
        mean,
        times[0]
    );
}
