//! The ingest path every collector shares: raw records → [`Normalizer`] → one [`Batch`] →
//! the store's single [`Writer`]. NATS, HTTP and file ingest call [`Ingest::ingest`], so a
//! record is judged and stored the same way whichever way it came in.

use std::sync::Arc;

use crate::normalize::{Normalizer, RawRecord};
use crate::store::{Batch, Collector, CommitReport, StoreError, Writer};

/// What became of one call's records.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub commit: CommitReport,
    /// (position in the input, reason) of each record the normalizer turned away.
    pub rejected: Vec<(usize, String)>,
}

/// Normalizer + writer, cheap to clone into every collector.
#[derive(Clone)]
pub struct Ingest {
    normalizer: Arc<Normalizer>,
    writer: Writer,
}

impl Ingest {
    pub fn new(normalizer: Normalizer, writer: Writer) -> Self {
        Ingest {
            normalizer: Arc::new(normalizer),
            writer,
        }
    }

    /// Normalizes `records` and commits them as one batch. Returns once the batch is
    /// durable; only then may a collector acknowledge the records to their sender.
    pub async fn ingest(
        &self,
        collector: Collector,
        records: Vec<RawRecord>,
    ) -> Result<IngestReport, StoreError> {
        let normalizer = Arc::clone(&self.normalizer);
        // Schema validation is CPU work; keep it off the async workers.
        let (batch, rejected) = tokio::task::spawn_blocking(move || {
            let mut batch = Batch::new(collector);
            let mut rejected = Vec::new();
            for (position, record) in records.into_iter().enumerate() {
                match normalizer.normalize(record) {
                    Ok(event) => batch.events.push(event),
                    Err(rejection) => {
                        rejected.push((position, rejection.reason.clone()));
                        batch.rejected.push(rejection);
                    }
                }
            }
            (batch, rejected)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("normalizer task failed: {e}")))?;

        let commit = self.writer.commit(batch).await;
        if commit.is_err() {
            crate::metrics::batch_failed(collector);
        }
        Ok(IngestReport {
            commit: commit?,
            rejected,
        })
    }
}
