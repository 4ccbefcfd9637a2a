//! The `capture` object of a document's `meta`, present only when the data came from a
//! capture (`--from`): which archive, of which host and kernel, when, from which proc root,
//! in which layout, and which map file it kept. Unknown facts (a smemcap archive has no host
//! or time) are `null`.

use serde::{Deserialize, Serialize};

use crate::model::{CaptureFormat, CaptureInfo, Source};
use crate::text::utc_timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureDoc {
    pub file: String,
    pub format: CaptureFormat,
    pub pmaps_version: Option<String>,
    pub host: Option<String>,
    pub kernel: Option<String>,
    pub start_utc: Option<String>,
    pub end_utc: Option<String>,
    pub proc_root: Option<String>,
    pub map_file: Source,
}

impl CaptureDoc {
    pub fn of(c: &CaptureInfo) -> CaptureDoc {
        CaptureDoc {
            file: c.file.clone(),
            format: c.format,
            pmaps_version: c.pmaps_version.clone(),
            host: c.host.clone(),
            kernel: c.kernel.clone(),
            start_utc: c.start.map(utc_timestamp),
            end_utc: c.end.map(utc_timestamp),
            proc_root: c.proc_root.clone(),
            map_file: c.map_file,
        }
    }
}
