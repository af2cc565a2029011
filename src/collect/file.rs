//! NDJSON files and stdin (`trustpath ingest FILE|-`), read in chunks so a file of any
//! size streams through in bounded memory. Lines are kept as bytes: invalid UTF-8 is the
//! normalizer's to judge (and reject with a reason), not the reader's.

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::normalize::RawRecord;
use crate::pipeline::{Ingest, IngestReport, Normalized, Submitted};
use crate::store::{Collector, StoreError};

/// Why a file's ingest stopped. Batches committed before it stand.
#[derive(Debug, thiserror::Error)]
pub enum FileIngestError {
    #[error("cannot read the input: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct NdjsonReader<R> {
    reader: BufReader<R>,
    /// Bytes kept of one line; the rest of a longer line is skipped (the record is then
    /// rejected as too large, with what was kept).
    max_line_bytes: usize,
    /// File name for origins (`-` for stdin).
    name: String,
    /// The file's absolute path, when it has one (not stdin): a delivery key.
    stable_name: Option<String>,
    format: String,
    line: usize,
}

impl<R: AsyncRead + Unpin> NdjsonReader<R> {
    /// `max_event_bytes` is the normalizer's limit: a line is kept up to just past it, so
    /// memory stays bounded however long a line is.
    pub fn new(
        reader: R,
        name: impl Into<String>,
        format: impl Into<String>,
        max_event_bytes: usize,
    ) -> Self {
        NdjsonReader {
            reader: BufReader::new(reader),
            max_line_bytes: max_event_bytes.saturating_add(2),
            stable_name: None,
            name: name.into(),
            format: format.into(),
            line: 0,
        }
    }

    /// Names the file by its absolute path, so re-ingesting it is recognised.
    pub fn with_path(mut self, path: &std::path::Path) -> Self {
        self.stable_name = std::fs::canonicalize(path)
            .ok()
            .map(|p| p.display().to_string());
        self
    }

    /// Reads one line into `buffer` (without the newline), keeping at most
    /// `max_line_bytes`. Returns false at end of input.
    async fn read_line_bounded(&mut self, buffer: &mut Vec<u8>) -> std::io::Result<bool> {
        let mut read_any = false;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(read_any);
            }
            read_any = true;
            let newline = available.iter().position(|b| *b == b'\n');
            let end = newline.unwrap_or(available.len());
            let room = self.max_line_bytes.saturating_sub(buffer.len());
            buffer.extend_from_slice(&available[..end.min(room)]);
            let consumed = newline.map_or(available.len(), |i| i + 1);
            self.reader.consume(consumed);
            if newline.is_some() {
                return Ok(true);
            }
        }
    }

    /// Up to `max` non-blank lines with their 1-based line numbers; empty at end of input.
    pub async fn next_chunk(&mut self, max: usize) -> std::io::Result<Vec<(usize, RawRecord)>> {
        let mut records = Vec::new();
        let mut buffer = Vec::new();
        while records.len() < max {
            buffer.clear();
            if !self.read_line_bounded(&mut buffer).await? {
                break;
            }
            self.line += 1;
            let line = buffer.strip_suffix(b"\r").unwrap_or(&buffer);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            records.push((
                self.line,
                RawRecord {
                    raw: Bytes::copy_from_slice(line),
                    origin: format!("file:{}:{}", self.name, self.line),
                    // Ingesting the same file again keeps its bad lines once.
                    delivery_key: self
                        .stable_name
                        .as_ref()
                        .map(|name| format!("file:{name}:{}", self.line)),
                    format: self.format.clone(),
                },
            ));
        }
        Ok(records)
    }

    /// Reads to the end in chunks of up to `chunk` records and commits each chunk as one
    /// batch through `ingest`, in the input's order. The next chunk is read, normalized and
    /// handed to the writer while the previous one commits; a full chunk is marked
    /// `more_follows`, so under a long file the writer commits first and correlates after
    /// (`correlate.max_lag`).
    /// `committed` gets each chunk's line numbers (by position in the chunk) and report.
    /// When a batch fails, the one handed over after it may still commit; ingesting the
    /// file again stores each event once.
    pub async fn ingest_all(
        &mut self,
        ingest: &Ingest,
        chunk: usize,
        mut committed: impl FnMut(&[usize], IngestReport),
    ) -> Result<(), FileIngestError> {
        let mut previous: Option<(Vec<usize>, Submitted)> = None;
        let outcome = loop {
            let next = match self.next_normalized(ingest, chunk).await {
                Ok(Some(next)) => next,
                Ok(None) => break Ok(()),
                Err(error) => break Err(error),
            };
            let (lines, normalized) = next;
            let submitted = match ingest.submit(normalized).await {
                Ok(submitted) => submitted,
                Err(error) => break Err(error.into()),
            };
            if let Some((lines, submitted)) = previous.replace((lines, submitted)) {
                committed(&lines, submitted.report().await?);
            }
        };
        if let Some((lines, submitted)) = previous {
            committed(&lines, submitted.report().await?);
        }
        outcome
    }

    /// The next chunk, normalized, with its line numbers; `None` at the end of the input.
    async fn next_normalized(
        &mut self,
        ingest: &Ingest,
        chunk: usize,
    ) -> Result<Option<(Vec<usize>, Normalized)>, FileIngestError> {
        let records = self.next_chunk(chunk).await?;
        if records.is_empty() {
            return Ok(None);
        }
        // A full chunk most likely has more of the file behind it.
        let full = records.len() >= chunk;
        let (lines, records): (Vec<usize>, Vec<_>) = records.into_iter().unzip();
        let normalized = ingest.normalize(Collector::File, records).await?;
        Ok(Some((lines, normalized.more_follows(full))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_carry_file_line_origins() {
        let input: &[u8] = b"{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}";
        let mut reader = NdjsonReader::new(input, "events.ndjson", "native", 1024);
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

    #[tokio::test]
    async fn a_huge_line_is_cut_and_the_next_line_still_read() {
        let mut input = vec![b'x'; 100_000];
        input.extend_from_slice(b"\n{\"a\":1}\n");
        let mut reader = NdjsonReader::new(&input[..], "big.ndjson", "native", 10);
        let records = reader.next_chunk(10).await.unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].1.raw.len(), 12, "kept just past the limit");
        assert_eq!(
            (records[1].0, records[1].1.raw.as_ref()),
            (2, &b"{\"a\":1}"[..])
        );
    }
}
