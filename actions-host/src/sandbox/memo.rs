//! A bounded in-memory map for what the sandbox compiles (components, the
//! JavaScript actions' bytecode): when full, the entry inserted first goes.

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries by key, each with when it went in; and the last such number.
struct Entries<V> {
    counter: u64,
    map: HashMap<String, (u64, V)>,
}

pub struct Memo<V> {
    limit: usize,
    entries: Mutex<Entries<V>>,
}

impl<V: Clone> Memo<V> {
    pub fn new(limit: usize) -> Memo<V> {
        Memo { limit: limit.max(1), entries: Mutex::new(Entries { counter: 0, map: HashMap::new() }) }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.lock().expect("memo lock").map.get(key).map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: String, value: V) {
        let mut guard = self.entries.lock().expect("memo lock");
        let Entries { counter, map } = &mut *guard;
        if map.len() >= self.limit && !map.contains_key(&key) {
            if let Some(oldest) = map.iter().min_by_key(|(_, (n, _))| *n).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        *counter += 1;
        map.insert(key, (*counter, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_entry_goes_when_full() {
        let m = Memo::new(2);
        m.insert("a".into(), 1);
        m.insert("b".into(), 2);
        m.insert("a".into(), 3);
        m.insert("c".into(), 4);
        assert_eq!((m.get("a"), m.get("b"), m.get("c")), (Some(3), None, Some(4)));
    }
}
