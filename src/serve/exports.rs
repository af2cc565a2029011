//! Export jobs of `POST /v1/exports`: each waits for the writer to correlate what it has
//! committed, then runs on a blocking thread against its own read connection (one snapshot
//! of the store), into `<store dir>/exports/<id>/`; its status and files are served until
//! the server stops (the files stay on disk).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::export::{ExportError, ExportRequest, Manifest, export};
use crate::integrity::Signer;
use crate::store::{Reader, WeakWriter, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Running,
    Done,
    Failed,
}

/// One export job, as `GET /v1/exports/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ExportJob {
    pub id: Uuid,
    pub status: JobStatus,
    pub request: ExportRequest,
    pub started_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// Where the export was written, on the server.
    pub dir: PathBuf,
}

/// The server's export jobs.
#[derive(Clone)]
pub struct Exports {
    dir: PathBuf,
    signer: Option<Arc<Signer>>,
    jobs: Arc<Mutex<BTreeMap<Uuid, ExportJob>>>,
}

impl Exports {
    pub fn new(dir: PathBuf, signer: Option<Signer>) -> Exports {
        Exports {
            dir,
            signer: signer.map(Arc::new),
            jobs: Arc::default(),
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, BTreeMap<Uuid, ExportJob>> {
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts an export; the job is `running` until the files and the signed manifest are
    /// written. It reads the store once `writer` has correlated every batch committed so
    /// far; a burst that commits more of the window meanwhile is caught up with again, a
    /// few times, before the job gives up saying why.
    pub fn start(
        &self,
        reader: Reader,
        writer: Writer,
        request: ExportRequest,
    ) -> Result<ExportJob, String> {
        let Some(signer) = self.signer.clone() else {
            return Err(
                "this server's store has no signing key (an in-memory store); set \
                 store.signing_key to export"
                    .to_owned(),
            );
        };
        let id = Uuid::now_v7();
        let job = ExportJob {
            id,
            status: JobStatus::Running,
            request: request.clone(),
            started_at: Utc::now(),
            finished_at: None,
            error: None,
            manifest: None,
            dir: self.dir.join(id.to_string()),
        };
        self.jobs().insert(id, job.clone());
        let exports = self.clone();
        let dir = job.dir.clone();
        // The writer stops once its last strong handle is gone; an export must not delay
        // that, so the job holds it only while it waits for the catch-up.
        let writer = writer.downgrade();
        tokio::spawn(async move {
            let result = export_caught_up(&writer, reader, signer, request, dir).await;
            if let Err(error) = &result {
                tracing::error!(%error, export = %id, "export failed");
            }
            if let Some(job) = exports.jobs().get_mut(&id) {
                job.finished_at = Some(Utc::now());
                match result {
                    Ok(manifest) => {
                        job.status = JobStatus::Done;
                        job.manifest = Some(manifest);
                    }
                    Err(error) => {
                        job.status = JobStatus::Failed;
                        job.error = Some(error);
                    }
                }
            }
        });
        Ok(job)
    }

    pub fn get(&self, id: Uuid) -> Option<ExportJob> {
        self.jobs().get(&id).cloned()
    }

    pub fn list(&self) -> Vec<ExportJob> {
        self.jobs().values().cloned().collect()
    }

    /// The file `path` of a finished export: the manifest, its signature or a listed file
    /// (nothing else under the export directory, and nothing outside it, is served).
    pub fn file(&self, id: Uuid, path: &str) -> Option<PathBuf> {
        let job = self.get(id)?;
        let manifest = job.manifest.as_ref()?;
        let listed = path == "manifest.json"
            || path == "manifest.sig"
            || manifest.files.iter().any(|f| f.path == path);
        listed.then(|| job.dir.join(path))
    }
}

/// How many times an export catches up with a burst that keeps committing events of its
/// window before it gives up (the writer correlates a pass before each commit once it is
/// `correlate.max_lag` behind, so under a sustained overload this can fail; retry later).
const CATCH_UP_ATTEMPTS: usize = 3;

/// Waits for `writer` to correlate what it committed, then exports `request` into `dir`
/// from one snapshot; again (up to [`CATCH_UP_ATTEMPTS`]) when the snapshot still holds
/// uncorrelated events of the window.
async fn export_caught_up(
    writer: &WeakWriter,
    reader: Reader,
    signer: Arc<Signer>,
    request: ExportRequest,
    dir: PathBuf,
) -> Result<Manifest, String> {
    let mut attempt = 1;
    loop {
        let caught_up = async { writer.upgrade()?.catch_up().await };
        caught_up.await.map_err(|e| e.to_string())?;
        let (reader, signer, request, dir) =
            (reader.clone(), signer.clone(), request.clone(), dir.clone());
        let result = tokio::task::spawn_blocking(move || {
            let db = reader.connection()?;
            export(&db, &signer, &request, &dir)
        })
        .await
        .map_err(|e| format!("the export task failed: {e}"))?;
        match result {
            Err(ExportError::Uncorrelated { .. }) if attempt < CATCH_UP_ATTEMPTS => {
                // A refused export leaves nothing behind (export::export): try again.
                attempt += 1;
            }
            other => return other.map_err(|e| e.to_string()),
        }
    }
}
