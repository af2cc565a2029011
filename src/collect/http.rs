//! Splitting a `POST /v1/events` body into records: NDJSON (one event per line) or a JSON
//! array of events. Records borrow the body's bytes; nothing is copied.

use bytes::Bytes;
use serde_json::value::RawValue;

use crate::normalize::RawRecord;

/// How the records of a body are numbered in answers: NDJSON by line (from 1), an array
/// by element index (from 0), or the whole body when it is one broken array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbering {
    Line,
    Index,
    Body,
}

/// Splits `body`. With `ndjson_only` (the sender said `application/x-ndjson`) every line is
/// a record, even one that starts with `[`. Otherwise a body that starts with `[` is a JSON
/// array; one that is not a valid array is one record (rejected with the parser's reason,
/// and kept).
pub fn split_body(
    body: &Bytes,
    peer: &str,
    format: &str,
    ndjson_only: bool,
) -> (Numbering, Vec<(usize, RawRecord)>) {
    let record = |raw: Bytes, place: String| RawRecord {
        raw,
        origin: format!("http:{peer} {place}"),
        delivery_key: None,
        format: format.to_owned(),
    };
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if !ndjson_only && first == Some(&b'[') {
        if let Ok(elements) = serde_json::from_slice::<Vec<&RawValue>>(body) {
            let records = elements
                .iter()
                .enumerate()
                .map(|(index, element)| {
                    (
                        index,
                        record(
                            body.slice_ref(element.get().as_bytes()),
                            format!("index {index}"),
                        ),
                    )
                })
                .collect();
            return (Numbering::Index, records);
        }
        return (
            Numbering::Body,
            vec![(0, record(body.clone(), "body".to_owned()))],
        );
    }
    let records = ndjson_lines(body)
        .map(|(line, raw)| (line, record(raw, format!("line {line}"))))
        .collect();
    (Numbering::Line, records)
}

/// Non-blank lines of an NDJSON buffer with their 1-based line numbers. `\r\n` endings
/// are accepted; bytes are not required to be UTF-8 (the normalizer judges that).
pub fn ndjson_lines(body: &Bytes) -> impl Iterator<Item = (usize, Bytes)> + '_ {
    body.split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(index, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                Some((index + 1, body.slice_ref(line)))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_keeps_line_numbers_and_skips_blank_lines() {
        let body = Bytes::from_static(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n");
        let (numbering, records) = split_body(&body, "127.0.0.1:1", "native", false);
        assert_eq!(numbering, Numbering::Line);
        let lines: Vec<(usize, &[u8])> =
            records.iter().map(|(n, r)| (*n, r.raw.as_ref())).collect();
        assert_eq!(lines, vec![(1, &b"{\"a\":1}"[..]), (4, &b"{\"b\":2}"[..])]);
        assert_eq!(records[1].1.origin, "http:127.0.0.1:1 line 4");
    }

    #[test]
    fn array_elements_are_records() {
        let body = Bytes::from_static(b" [ {\"a\":1}, {\"b\": [2]} ]");
        let (numbering, records) = split_body(&body, "p", "native", false);
        assert_eq!(numbering, Numbering::Index);
        assert_eq!(records[1].1.raw.as_ref(), b"{\"b\": [2]}");
    }

    #[test]
    fn broken_array_is_one_record() {
        let body = Bytes::from_static(b"[{\"a\":1},");
        let (numbering, records) = split_body(&body, "p", "native", false);
        assert_eq!((numbering, records.len()), (Numbering::Body, 1));
        assert_eq!(records[0].1.raw, body);
        let (numbering, records) = split_body(&body, "p", "native", true);
        assert_eq!(
            (numbering, records.len()),
            (Numbering::Line, 1),
            "declared NDJSON is never an array"
        );
    }
}
