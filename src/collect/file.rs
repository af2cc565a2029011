//! NDJSON files and stdin (`trustpath ingest FILE|-`), read in chunks so a file of any
//! size streams through in bounded memory. Lines are kept as bytes: invalid UTF-8 is the
//! normalizer's to judge (and reject with a reason), not the reader's.

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::normalize::RawRecord;

pub struct NdjsonReader<R> {
    reader: BufReader<R>,
    /// File name for origins (`-` for stdin).
    name: String,
    format: String,
    line: usize,
}

impl<R: AsyncRead + Unpin> NdjsonReader<R> {
    pub fn new(reader: R, name: impl Into<String>, format: impl Into<String>) -> Self {
        NdjsonReader {
            reader: BufReader::new(reader),
            name: name.into(),
            format: format.into(),
            line: 0,
        }
    }

    /// Up to `max` non-blank lines with their 1-based line numbers; empty at end of input.
    pub async fn next_chunk(&mut self, max: usize) -> std::io::Result<Vec<(usize, RawRecord)>> {
        let mut records = Vec::new();
        let mut buffer = Vec::new();
        while records.len() < max {
            buffer.clear();
            if self.reader.read_until(b'\n', &mut buffer).await? == 0 {
                break;
            }
            self.line += 1;
            let line = buffer.strip_suffix(b"\n").unwrap_or(&buffer);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            records.push((
                self.line,
                RawRecord {
                    raw: Bytes::copy_from_slice(line),
                    origin: format!("file:{}:{}", self.name, self.line),
                    delivery_key: None,
                    format: self.format.clone(),
                },
            ));
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_carry_file_line_origins() {
        let input: &[u8] = b"{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
        let mut reader = NdjsonReader::new(input, "events.ndjson", "native");
        let first = reader.next_chunk(2).await.unwrap();
        assert_eq!(
            first.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            vec![1, 3]
        );
        assert_eq!(first[1].1.raw.as_ref(), b"{\"b\":2}");
        assert_eq!(first[1].1.origin, "file:events.ndjson:3");
        let second = reader.next_chunk(2).await.unwrap();
        assert_eq!(second.len(), 1);
        assert!(reader.next_chunk(2).await.unwrap().is_empty());
    }
}
