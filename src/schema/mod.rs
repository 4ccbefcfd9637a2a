//! The JSON documents pmaps writes, as typed serde structs that read back losslessly: exact
//! name bytes (a name that is not UTF-8 is shown escaped and given exactly in a `<key>_hex`
//! companion), raw integers, coverage and meta. `diff` and `trend` read saved documents back
//! through these types; [`SCHEMA_VERSION`] says which layout a document has.

pub mod capture;
pub mod diff;
pub mod history;
pub mod key;
pub mod plan;
pub mod report;
pub mod show;
pub mod summary;
pub mod trend;
pub mod watch;

use serde::{Deserialize, Serialize};

pub use crate::text::escape::{name_bytes, name_fields};

/// The layout of the documents. A reader refuses a document of a version it does not know.
pub const SCHEMA_VERSION: u32 = 1;

/// The version a document says it has, checked before it is read as that layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned {
    pub schema_version: u32,
}

/// Reads a saved document: a clear error for one that is not pmaps JSON or is of another
/// schema version than this binary writes.
pub fn read_doc<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> anyhow::Result<T> {
    let v: Versioned = serde_json::from_slice(bytes)
        .map_err(|e| anyhow::anyhow!("not a pmaps JSON document (no schema_version): {e}"))?;
    if v.schema_version != SCHEMA_VERSION {
        anyhow::bail!(
            "schema version {} is not the one this pmaps reads ({SCHEMA_VERSION})",
            v.schema_version
        );
    }
    Ok(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_hex() {
        for raw in [
            &b"/usr/lib/libc.so.6"[..],
            b"/tmp/\xff\xfe x",
            b"",
            b"a\x1bb",
        ] {
            let (text, hex) = name_fields(raw);
            assert_eq!(name_bytes(&text, hex.as_deref()).as_deref(), Some(raw));
        }
        assert_eq!(name_bytes("x", Some("zz")), None);
        assert_eq!(name_bytes("x", Some("abc")), None);
    }
}
