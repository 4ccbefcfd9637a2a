//! JSON for programs: a typed document of the schema (`crate::schema`), pretty-printed, ending
//! with a newline.

use serde::Serialize;

/// The document as pretty-printed JSON.
pub fn render<T: Serialize>(doc: &T) -> anyhow::Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(doc)?;
    out.push(b'\n');
    Ok(out)
}
