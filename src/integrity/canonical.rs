//! The canonical encoding the chain hashes: how a stored row becomes bytes, the same way on
//! every machine and in every language, so a digest can be recomputed from the store or an
//! export without trustpath.
//!
//! - A row is a compact JSON array of its columns, in the order of the query that reads
//!   them (`queries/integrity/`; README, "Compliance"). Text is a JSON string (serde_json's
//!   escaping: `"`, `\` and control characters only), integers are JSON numbers, booleans
//!   `true`/`false`, NULL is `null`, lists are arrays. Times are epoch microseconds
//!   (integers: read as such from the store, or an Arrow timestamp in microseconds, as
//!   the writer digests the rows it appends), JSON columns their stored text, blobs the
//!   SHA-256 of their bytes.
//! - Each row's bytes end in `\n`. Rows are sorted bytewise, so the digest does not depend
//!   on the order DuckDB returns them in.
//! - The digest is the SHA-256 of the sorted rows, concatenated; hex, lower case.

use std::io::Write as _;

use duckdb::arrow::array::{Array, AsArray as _, RecordBatch};
use duckdb::arrow::datatypes::{
    DataType, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use sha2::{Digest as _, Sha256};

/// SHA-256 of nothing: the digest of a batch without rows.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The rows of a query, counted and digested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowsDigest {
    pub rows: i64,
    pub sha256: String,
}

/// Encodes every row of `batches` and digests them in canonical (bytewise) order.
pub fn digest(batches: &[RecordBatch]) -> Result<RowsDigest, String> {
    // Every row into one buffer (no allocation per row), then the rows' ranges sorted.
    let mut encoded = Vec::new();
    let mut rows: Vec<std::ops::Range<usize>> = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let start = encoded.len();
            encode_row(batch, row, &mut encoded)?;
            rows.push(start..encoded.len());
        }
    }
    rows.sort_unstable_by(|a, b| encoded[a.clone()].cmp(&encoded[b.clone()]));
    let mut hasher = Sha256::new();
    for row in &rows {
        hasher.update(&encoded[row.clone()]);
    }
    Ok(RowsDigest {
        rows: rows.len() as i64,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// One row as a JSON array followed by `\n`.
pub fn encode_row(batch: &RecordBatch, row: usize, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(b'[');
    for (i, column) in batch.columns().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        encode_value(column.as_ref(), row, out)
            .map_err(|e| format!("column `{}`: {e}", batch.schema().field(i).name()))?;
    }
    out.extend_from_slice(b"]\n");
    Ok(())
}

/// One value as canonical JSON (a blob as the SHA-256 of its bytes).
pub fn encode_value(array: &dyn Array, row: usize, out: &mut Vec<u8>) -> Result<(), String> {
    if array.is_null(row) {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    macro_rules! integer {
        ($type:ty) => {
            // Written in place: no string per value.
            write!(out, "{}", array.as_primitive::<$type>().value(row))
                .expect("writing to a Vec cannot fail")
        };
    }
    match array.data_type() {
        DataType::Boolean => {
            let value = array.as_boolean().value(row);
            out.extend_from_slice(if value { b"true" } else { b"false" });
        }
        DataType::Int8 => integer!(Int8Type),
        DataType::Int16 => integer!(Int16Type),
        DataType::Int32 => integer!(Int32Type),
        DataType::Int64 => integer!(Int64Type),
        DataType::UInt8 => integer!(UInt8Type),
        DataType::UInt16 => integer!(UInt16Type),
        DataType::UInt32 => integer!(UInt32Type),
        DataType::UInt64 => integer!(UInt64Type),
        DataType::Timestamp(TimeUnit::Microsecond, _) => integer!(TimestampMicrosecondType),
        DataType::Utf8 => string(array.as_string::<i32>().value(row), out),
        DataType::LargeUtf8 => string(array.as_string::<i64>().value(row), out),
        DataType::Utf8View => string(array.as_string_view().value(row), out),
        DataType::Binary => blob(array.as_binary::<i32>().value(row), out),
        DataType::LargeBinary => blob(array.as_binary::<i64>().value(row), out),
        DataType::List(_) => list(array.as_list::<i32>().value(row).as_ref(), out)?,
        DataType::LargeList(_) => list(array.as_list::<i64>().value(row).as_ref(), out)?,
        other => return Err(format!("type {other} has no canonical encoding")),
    }
    Ok(())
}

fn string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

fn blob(bytes: &[u8], out: &mut Vec<u8>) {
    string(&hex::encode(Sha256::digest(bytes)), out);
}

fn list(items: &dyn Array, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(b'[');
    for item in 0..items.len() {
        if item > 0 {
            out.push(b',');
        }
        encode_value(items, item, out)?;
    }
    out.push(b']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use duckdb::arrow::array::{
        BinaryArray, BooleanArray, Int64Array, ListBuilder, StringArray, StringBuilder,
    };
    use duckdb::arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let mut list = ListBuilder::new(StringBuilder::new());
        list.values().append_value("read");
        list.values().append_value("wr\"ite");
        list.append(true);
        list.append(false);
        let columns: Vec<Arc<dyn Array>> = vec![
            Arc::new(StringArray::from(vec![Some("é\n"), None])),
            Arc::new(Int64Array::from(vec![
                Some(-5),
                Some(1_700_000_000_000_000),
            ])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
            Arc::new(list.finish()),
            Arc::new(BinaryArray::from(vec![Some(&b""[..]), None])),
        ];
        let schema = Schema::new(
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(Arc::new(schema), columns).unwrap()
    }

    #[test]
    fn rows_encode_as_documented() {
        let batch = batch();
        let mut out = Vec::new();
        encode_row(&batch, 0, &mut out).unwrap();
        encode_row(&batch, 1, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "[\"é\\n\",-5,true,[\"read\",\"wr\\\"ite\"],\"{EMPTY_SHA256}\"]\n\
                 [null,1700000000000000,false,null,null]\n"
            )
        );
    }

    #[test]
    fn the_digest_does_not_depend_on_row_order() {
        let batch = batch();
        let reversed = batch.slice(1, 1);
        let first = batch.slice(0, 1);
        let a = digest(std::slice::from_ref(&batch)).unwrap();
        let b = digest(&[reversed, first]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.rows, 2);
        assert_eq!(digest(&[]).unwrap().sha256, EMPTY_SHA256);
    }
}
