//! The library internals a few tests drive directly (the reader, to race a PID reuse between
//! two of its steps; the escaping, to know how a name must show). Every such path is named
//! here only, so a change of the library's layout is fixed in this one file.

pub use pmaps::model::{Outcome, ProcInfo, Source};
pub use pmaps::read::{ReadResult, Reader};
pub use pmaps::schema::read_doc;
pub use pmaps::schema::report::ReportDoc;
pub use pmaps::schema::show::ShowDoc;
pub use pmaps::source::ProcRoot;
pub use pmaps::text::escape::{display, formula_safe};
