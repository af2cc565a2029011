//! The ingest path every collector shares: raw records → [`Normalizer`] → one [`Batch`] →
//! the store's single [`Writer`]. NATS, HTTP and file ingest call [`Ingest::ingest`], so a
//! record is judged and stored the same way whichever way it came in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::normalize::{Normalizer, RawRecord};
use crate::store::{self, Batch, Collector, CommitReport, StoreError, Writer};

/// What became of one call's records.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub commit: CommitReport,
    /// (position in the input, reason) of each record the normalizer turned away.
    pub rejected: Vec<(usize, String)>,
    /// Time spent judging and normalizing the records and building the batch's rows for
    /// the store (on a blocking thread).
    pub normalize: Duration,
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
        let normalized = self.normalize(collector, records).await?;
        self.commit(normalized).await
    }

    /// The first half of [`Ingest::ingest`]: judges and normalizes `records` into one batch,
    /// on a blocking thread. A caller with more input can normalize its next records while
    /// the previous batch commits.
    pub async fn normalize(
        &self,
        collector: Collector,
        records: Vec<RawRecord>,
    ) -> Result<Normalized, StoreError> {
        let normalizer = Arc::clone(&self.normalizer);
        // Schema validation is CPU work; keep it off the async workers.
        let task = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let mut batch = Batch::with_capacity(collector, records.len());
            let mut rejected = Vec::new();
            for (position, record) in records.into_iter().enumerate() {
                match normalizer.normalize(record) {
                    // The event becomes its row for the store here, rather than on the
                    // writer, which every collector's batches queue for.
                    Ok(event) => batch.push(event)?,
                    Err(rejection) => {
                        rejected.push((position, rejection.reason.clone()));
                        batch.rejected.push(rejection);
                    }
                }
            }
            // Their digest for the chain too.
            batch.prepare()?;
            Ok(Normalized {
                batch,
                rejected,
                took: started.elapsed(),
            })
        });
        match task.await {
            Ok(normalized) => normalized,
            Err(e) => Err(StoreError::Internal(format!("normalizer task failed: {e}"))),
        }
    }

    /// The second half of [`Ingest::ingest`]: commits a normalized batch. Returns once it is
    /// durable.
    pub async fn commit(&self, normalized: Normalized) -> Result<IngestReport, StoreError> {
        self.submit(normalized).await?.report().await
    }

    /// [`Ingest::commit`] in two steps: hands the batch to the writer, then (through the
    /// answer) waits until it is durable. Batches commit in the order they are submitted.
    pub async fn submit(&self, normalized: Normalized) -> Result<Submitted, StoreError> {
        let Normalized {
            batch,
            rejected,
            took,
        } = normalized;
        let collector = batch.collector;
        let commit = self.writer.submit(batch).await;
        if commit.is_err() {
            crate::metrics::batch_failed(collector);
        }
        Ok(Submitted {
            commit: commit?,
            collector,
            rejected,
            normalize: took,
        })
    }
}

/// A batch with the writer, not yet known to be durable.
pub struct Submitted {
    commit: store::PendingCommit,
    collector: Collector,
    rejected: Vec<(usize, String)>,
    normalize: Duration,
}

impl Submitted {
    /// Waits until the batch is durable; only then may its records be acknowledged.
    pub async fn report(self) -> Result<IngestReport, StoreError> {
        let commit = self.commit.report().await;
        if commit.is_err() {
            crate::metrics::batch_failed(self.collector);
        }
        Ok(IngestReport {
            commit: commit?,
            rejected: self.rejected,
            normalize: self.normalize,
        })
    }
}

/// Records judged and normalized, not yet committed.
pub struct Normalized {
    batch: Batch,
    rejected: Vec<(usize, String)>,
    took: Duration,
}

impl Normalized {
    /// Marks the batch as having more input right behind it, so the writer commits the
    /// next one before correlating this one (see [`Batch::more_follows`]).
    pub fn more_follows(mut self, more: bool) -> Self {
        self.batch.more_follows = more;
        self
    }
}
