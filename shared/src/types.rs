//! Newtypes for identifiers and secrets.
//!
//! Secrets print as `[redacted]` in `Debug` and `Display`, so a stray log line
//! or error message can never carry one.

use std::fmt;

use crate::host::{Host, HostExt};

pub use crate::secret::Secret;

macro_rules! id_type {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id: the prefix, 48 bits of milliseconds (so ids sort by
            /// creation, which keeps cursor pagination stable) and 80 random
            /// bits.
            pub fn generate<H: Host>(host: &H) -> Self {
                $name(new_id($prefix, host.now(), &host.random_bytes::<10>()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(TenantId, "ten_");
id_type!(UserId, "usr_");
id_type!(ApiKeyId, "key_");
id_type!(EventId, "evt_");
id_type!(MessageId, "msg_");
id_type!(LogStreamId, "lst_");
id_type!(BatchId, "bat_");
id_type!(DeliveryId, "dlv_");
id_type!(ActionId, "act_");
id_type!(ExecutionId, "axn_");
id_type!(ScimTokenId, "sct_");
id_type!(GroupId, "grp_");

fn new_id(prefix: &str, now_ms: i64, random: &[u8]) -> String {
    let mut s = String::with_capacity(prefix.len() + 12 + random.len() * 2);
    s.push_str(prefix);
    s.push_str(&format!("{:012x}", now_ms.max(0) as u64 & 0xffff_ffff_ffff));
    s.push_str(&crate::crypto::hex(random));
    s
}

/// Whether a host name is the loopback interface (RFC 8252 §7.3 allows
/// plain-HTTP redirect URIs there; local development serves there).
pub fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn ids_sort_by_time() {
        let a = new_id("usr_", 1_000, &[0xff; 10]);
        let b = new_id("usr_", 1_001, &[0x00; 10]);
        assert!(a < b);
        assert!(a.starts_with("usr_"));
        assert_eq!(a.len(), 4 + 12 + 20);
    }
}
