//! Prints the native Argon2id hash time with the production parameters, and
//! what the second factors cost: a recovery-code check (one Argon2id hash
//! against a set) and a TOTP check (compare with bench/argon2-worker.mjs,
//! which times the same inside workerd).

use std::time::Instant;

use tessera_core::mfa::totp;
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

    // A recovery code: the set's salt, one hash, constant-time comparisons.
    let set: Vec<String> =
        (0..10u8).map(|i| password::hash(&Secret::new(format!("CODE{i:08}")), [7; 16]).expect("hash")).collect();
    let t = Instant::now();
    let runs = 10;
    for _ in 0..runs {
        let typed = password::hash_like(&Secret::new("CODE00000009".to_string()), &set[0]).expect("hash").expect("phc");
        assert!(set.iter().any(|h| tessera_core::crypto::ct_eq_str(h, &typed)));
    }
    println!("recovery-code check native: {:.1} ms per code", t.elapsed().as_secs_f64() * 1000.0 / runs as f64);

    // A TOTP code: three HMAC-SHA1 codes around now.
    let secret = [7u8; 20];
    let now = 1_800_000_000_000;
    let code = totp::code_at(&secret, (now / 1000 / 30) as u64);
    let runs = 100_000;
    let t = Instant::now();
    for _ in 0..runs {
        assert!(totp::matching_step(&secret, &code, now).is_some());
    }
    println!("TOTP check native: {:.2} µs per code", t.elapsed().as_secs_f64() * 1e6 / runs as f64);
}
