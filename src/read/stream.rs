//! Streaming a map file line by line through one reused, bounded buffer: a 47 MB smaps
//! passes through it 64 KiB at a time, and a line longer than [`MAX_LINE`] (a file that is
//! not a real smaps, or `pagemap` planted in its place) is an error, not a 4 GB buffer.

use std::io::{self, Read};

use crate::parse::ParseError;

/// Size of the streaming buffer for map files. A line longer than this (a 5,000-byte path)
/// grows it, up to [`MAX_LINE`].
const CHUNK: usize = 64 * 1024;
/// The longest line accepted: far beyond any path the kernel prints (PATH_MAX is 4 KiB; a
/// 5,044-byte path was seen), far below what would hurt.
pub const MAX_LINE: usize = 1 << 20;

pub enum StreamError {
    Io(io::Error),
    Parse(ParseError),
}

impl From<ParseError> for StreamError {
    fn from(e: ParseError) -> Self {
        StreamError::Parse(e)
    }
}

/// Streams `file` line by line (without the `\n`) through `buf`, which keeps its capacity
/// between calls. Only a line longer than the buffer makes it grow.
pub fn stream_lines(
    file: &mut dyn Read,
    buf: &mut Vec<u8>,
    mut on_line: impl FnMut(&[u8]) -> Result<(), ParseError>,
) -> Result<(), StreamError> {
    stream_lines_while(file, buf, |line| on_line(line).map(|()| true)).map(|_| ())
}

/// [`stream_lines`] until `on_line` returns `false`: the rest of the file is not read.
/// Returns whether the whole file was read (`false`: stopped by `on_line`).
pub fn stream_lines_while(
    file: &mut dyn Read,
    buf: &mut Vec<u8>,
    mut on_line: impl FnMut(&[u8]) -> Result<bool, ParseError>,
) -> Result<bool, StreamError> {
    if buf.len() < CHUNK {
        buf.resize(CHUNK, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            // One line fills the whole buffer: make room for the rest of it, up to the cap.
            let len = buf.len();
            if len >= MAX_LINE {
                return Err(StreamError::Parse(ParseError {
                    message: format!("a line longer than {MAX_LINE} bytes"),
                }));
            }
            buf.resize((len * 2).min(MAX_LINE), 0);
        }
        let n = match file.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StreamError::Io(e)),
        };
        if n == 0 {
            if filled > 0 && !on_line(&buf[..filled])? {
                return Ok(false);
            }
            return Ok(true);
        }
        let end = filled + n;
        let mut start = 0;
        // Search only the new bytes: the carried-over part has no newline.
        let mut from = filled;
        while let Some(i) = memchr::memchr(b'\n', &buf[from..end]) {
            let nl = from + i;
            if !on_line(&buf[start..nl])? {
                return Ok(false);
            }
            start = nl + 1;
            from = start;
        }
        buf.copy_within(start..end, 0);
        filled = end - start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(content: &[u8]) -> Vec<Vec<u8>> {
        let mut tmp = tempfile::tempfile().expect("tempfile");
        tmp.write_all(content).expect("write");
        let mut f = tmp;
        std::io::Seek::rewind(&mut f).expect("rewind");
        let mut buf = Vec::new();
        let mut out = Vec::new();
        let r = stream_lines(&mut f, &mut buf, |l| {
            out.push(l.to_vec());
            Ok(())
        });
        assert!(r.is_ok());
        out
    }

    #[test]
    fn lines_across_chunk_boundaries_and_longer_than_the_buffer() {
        let long = vec![b'x'; CHUNK * 3 + 17];
        let mut content = Vec::new();
        for i in 0..20_000 {
            content.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        content.extend_from_slice(&long);
        content.push(b'\n');
        content.extend_from_slice(b"no newline at end");
        let lines = lines_of(&content);
        assert_eq!(lines.len(), 20_002);
        assert_eq!(lines[19_999], b"line 19999");
        assert_eq!(lines[20_000], long);
        assert_eq!(lines[20_001], b"no newline at end");
    }

    #[test]
    fn stopping_early_reads_no_further_line() {
        let mut tmp = tempfile::tempfile().expect("tempfile");
        tmp.write_all(b"a\nb\nstop\nc\nd").expect("write");
        std::io::Seek::rewind(&mut tmp).expect("rewind");
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        let r = stream_lines_while(&mut tmp, &mut buf, |l| {
            seen.push(l.to_vec());
            Ok(l != b"stop")
        });
        assert!(matches!(r, Ok(false)));
        assert_eq!(seen, [&b"a"[..], b"b", b"stop"]);
        std::io::Seek::rewind(&mut tmp).expect("rewind");
        let r = stream_lines_while(&mut tmp, &mut buf, |_| Ok(true));
        assert!(matches!(r, Ok(true)));
    }

    #[test]
    fn a_line_longer_than_the_cap_is_an_error_not_a_huge_buffer() {
        let mut tmp = tempfile::tempfile().expect("tempfile");
        tmp.write_all(&vec![b'x'; MAX_LINE + 10]).expect("write");
        std::io::Seek::rewind(&mut tmp).expect("rewind");
        let mut buf = Vec::new();
        let r = stream_lines(&mut tmp, &mut buf, |_| Ok(()));
        assert!(matches!(r, Err(StreamError::Parse(_))));
        assert!(buf.len() <= MAX_LINE);
    }
}
