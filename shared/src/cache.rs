//! Rows the hot paths read on every request, remembered for a few seconds in
//! memory: per isolate on Workers, per thread natively, and not at all on
//! Spin, whose instances live for one request.
//!
//! A change made through this isolate forgets the entry once it has been
//! written (forgetting before would let a read in between cache the old row
//! again); a change
//! made elsewhere is seen when the entry ages out, so each use picks a window
//! it can tolerate and says why. Time is the host's clock, so a pinned test
//! clock ages entries too.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

thread_local! {
    /// Bumped whenever any entry is forgotten: a host that keeps whole
    /// responses outside the core (the Workers entry, see
    /// [`ResponseCacheable`]) drops them all when it changes.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// How many times this isolate (or thread) has forgotten a cached entry.
pub fn generation() -> u64 {
    GENERATION.with(Cell::get)
}

fn bump() {
    GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
}

/// How long a host may answer the same request (a GET of the same URL)
/// with a response carrying [`ResponseCacheable`] without asking the core
/// again. Short, so a change made elsewhere (another isolate rotating the
/// keys, deleting the tenant) is seen within the entries' own windows plus
/// this; a change made here is seen at once through [`generation`].
pub const RESPONSE_CACHE_MS: u32 = 1_000;

/// A response extension: this 200 is the same for every GET of its URL
/// (discovery, the JWKS) until [`generation`] changes or `ttl_ms` passes.
/// The Workers entry serves such responses from JavaScript without entering
/// the module; other hosts ignore it.
#[derive(Debug, Clone, Copy)]
pub struct ResponseCacheable {
    pub ttl_ms: u32,
}

/// Entries kept before expired ones are swept (and, if all are fresh, the
/// whole map dropped): an isolate that serves many tenants stays bounded.
const CAPACITY: usize = 1024;

pub struct TtlCache<V> {
    ttl_ms: i64,
    entries: RefCell<BTreeMap<String, (i64, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub const fn new(ttl_ms: i64) -> Self {
        TtlCache { ttl_ms, entries: RefCell::new(BTreeMap::new()) }
    }

    fn fresh(&self, read_at: i64, now: i64) -> bool {
        // A clock that went backwards does not make an entry live forever.
        now >= read_at && now - read_at < self.ttl_ms
    }

    pub fn get(&self, key: &str, now: i64) -> Option<V> {
        self.entries.borrow().get(key).filter(|(at, _)| self.fresh(*at, now)).map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: String, now: i64, value: V) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= CAPACITY {
            entries.retain(|_, (at, _)| self.fresh(*at, now));
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (now, value));
    }

    pub fn forget(&self, key: &str) {
        self.entries.borrow_mut().remove(key);
        bump();
    }

    /// Forgets every key that starts with `prefix` (say, all of a tenant's).
    pub fn forget_prefix(&self, prefix: &str) {
        self.entries.borrow_mut().retain(|k, _| !k.starts_with(prefix));
        bump();
    }
}

/// A JSON document served as it is to every caller for a while (discovery,
/// the JWKS): serialised and given its strong ETag (a digest of the bytes,
/// RFC 9110 §8.8.3) once, when it is cached, not on every request.
#[derive(Debug)]
pub struct PrebuiltJson {
    pub body: Vec<u8>,
    pub etag: String,
}

impl PrebuiltJson {
    pub fn new(value: &serde_json::Value) -> Self {
        let body = value.to_string().into_bytes();
        let etag = format!("\"{}\"", crate::crypto::b64url(&crate::crypto::sha256(&body)[..16]));
        PrebuiltJson { body, etag }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_age_out_and_can_be_forgotten() {
        let c = TtlCache::new(1_000);
        c.put("t1/a".into(), 10_000, 1);
        c.put("t1/b".into(), 10_000, 2);
        c.put("t2/a".into(), 10_000, 3);
        assert_eq!(c.get("t1/a", 10_999), Some(1));
        assert_eq!(c.get("t1/a", 11_000), None, "expired at the window's end");
        assert_eq!(c.get("t1/a", 9_999), None, "a clock that went back does not trust the entry");
        let before = generation();
        c.forget_prefix("t1/");
        assert_eq!(c.get("t1/b", 10_001), None);
        assert_eq!(c.get("t2/a", 10_001), Some(3));
        assert_eq!(generation(), before + 1, "a host keeping whole responses learns of it");
        c.put("t2/b".into(), 10_000, 4);
        assert_eq!(generation(), before + 1, "putting forgets nothing");
        c.forget("t2/a");
        assert_eq!(c.get("t2/a", 10_001), None);
        assert_eq!(generation(), before + 2);
    }

    #[test]
    fn stays_bounded() {
        let c = TtlCache::new(1_000);
        for i in 0..CAPACITY {
            c.put(format!("old{i}"), 0, i);
        }
        c.put("new".into(), 5_000, 1);
        assert_eq!(c.entries.borrow().len(), 1, "expired entries are swept when full");
        assert_eq!(c.get("new", 5_001), Some(1));
    }
}
