//! Cognito's user import jobs (`CreateUserImportJob` and its family): a job, the CSV uploaded to
//! its pre-signed URL, and the run that loads it, on whichever node claims it first. Rows are
//! read and checked as `userpool users import` reads Cognito's CSV (`import`).

use super::import::{cognito_csv_lines, conflict};
use super::{Auth, AuthError, AuthResult, ErrorKind};
use crate::crypto::{TokenHash, random_string, random_token};
use crate::directory::PoolView;
use crate::model::{STANDARD_ATTRIBUTES, UserPoolConfig};

use crate::password::imported::Format;
use crate::store::{CasOutcome, ImportJobRecord};

/// How long a job's pre-signed URL takes an upload [I].
pub const UPLOAD_LIFETIME: i64 = 3600;
/// Cognito's limit on an import file.
pub const MAX_CSV_BYTES: usize = 100 * 1024 * 1024;
/// Rows between two writes of a running job's counts (and looks at whether it was stopped).
const ROWS_PER_STEP: usize = 500;
/// Cognito's limit on the users of one import file.
const MAX_ROWS: usize = 500_000;

/// The column of a row's password hash, in jobs with a `PasswordHashingAlgorithm` [I].
pub const HASH_COLUMN: &str = "cognito:password_hash";

/// `GetCSVHeader`: the standard attributes, the pool's custom ones, then Cognito's own columns.
pub fn csv_header(config: &UserPoolConfig) -> Vec<String> {
    // Cognito's standard attributes but the two it keeps for itself.
    let mut header: Vec<String> = STANDARD_ATTRIBUTES
        .iter()
        .filter(|a| !matches!(**a, "sub" | "identities"))
        .map(|a| a.to_string())
        .collect();
    header.extend(
        config
            .schema_attributes()
            .iter()
            .filter(|a| !a.is_standard())
            .map(|a| a.attribute_name()),
    );
    header.push("cognito:mfa_enabled".into());
    header.push("cognito:username".into());
    header
}

fn not_found(job_id: &str) -> AuthError {
    AuthError::new(
        ErrorKind::ResourceNotFound,
        format!("Import job {job_id} does not exist."),
    )
}

fn precondition(message: &str) -> AuthError {
    AuthError::new(ErrorKind::PreconditionNotMet, message)
}

/// Whether a hash is of the job's algorithm.
fn of_algorithm(hash: &str, algorithm: &str) -> bool {
    match (Format::of(hash), algorithm) {
        (Some(Format::Bcrypt), "BCRYPT") | (Some(Format::Scrypt), "SCRYPT") => true,
        (Some(Format::Argon2), "ARGON2ID") => hash.starts_with("$argon2id$"),
        (Some(Format::Pbkdf2Sha256 | Format::DjangoPbkdf2Sha256), "PBKDF2_SHA256") => true,
        _ => false,
    }
}

impl Auth {
    /// `CreateUserImportJob`: a job in `Created`, and the URL its CSV is `PUT` to (on this
    /// server, `{public_url}/import-jobs/{job}?token=…`, good for an hour).
    pub async fn create_import_job(
        &self,
        view: &PoolView,
        name: &str,
        role_arn: &str,
        algorithm: Option<&str>,
        public_url: &str,
    ) -> AuthResult<(ImportJobRecord, String)> {
        let now = self.clock.now();
        let token = random_token();
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let job = ImportJobRecord {
            job_id: format!("import-{}", random_string(alphabet, 10)),
            pool_id: view.pool.id.clone(),
            job_name: name.to_string(),
            status: "Created".into(),
            role_arn: role_arn.to_string(),
            hash_algorithm: algorithm.map(String::from),
            upload_token_hash: TokenHash::of(&token),
            upload_expires_at: now + UPLOAD_LIFETIME,
            created_at: now,
            started_at: None,
            completed_at: None,
            imported: 0,
            skipped: 0,
            failed: 0,
            completion_message: None,
            version: 0,
        };
        if !self.store.insert_import_job(&job).await? {
            return Err(AuthError::new(
                ErrorKind::Internal,
                "Internal server error.",
            ));
        }
        let url = format!("{public_url}/import-jobs/{}?token={token}", job.job_id);
        Ok((job, url))
    }

    pub async fn import_job(&self, view: &PoolView, job_id: &str) -> AuthResult<ImportJobRecord> {
        self.store
            .get_import_job(&view.pool.id, job_id)
            .await?
            .ok_or_else(|| not_found(job_id))
    }

    /// Whether a job's pre-signed URL takes an upload with `token` now: asked before the body
    /// is read, so a wrong URL costs no upload.
    pub async fn import_upload_open(&self, job_id: &str, token: &str) -> AuthResult<bool> {
        let now = self.clock.now();
        Ok(self
            .store
            .import_upload_open(job_id, &TokenHash::of(token), now)
            .await?)
    }

    /// The `PUT` to a job's pre-signed URL: its CSV, kept while the job is `Created` and the
    /// URL is live; false for a wrong token, a started job or an expired URL.
    pub async fn accept_import_csv(
        &self,
        job_id: &str,
        token: &str,
        csv: &str,
    ) -> AuthResult<bool> {
        let now = self.clock.now();
        Ok(self
            .store
            .put_import_csv(job_id, &TokenHash::of(token), now, csv)
            .await?)
    }

    /// `StartUserImportJob`: a `Created` job with its CSV becomes `Pending`; a node's runner
    /// then claims it.
    pub async fn start_import_job(
        &self,
        view: &PoolView,
        job_id: &str,
    ) -> AuthResult<ImportJobRecord> {
        let mut job = self.import_job(view, job_id).await?;
        if job.status != "Created" {
            return Err(precondition("The import job is not in the Created status."));
        }
        if !self.store.has_import_csv(job_id).await? {
            return Err(precondition(
                "No CSV file was uploaded for this import job.",
            ));
        }
        job.status = "Pending".into();
        job.started_at = Some(self.clock.now());
        self.write_job(job).await
    }

    /// `StopUserImportJob`: a pending job stops at once, a running one after its current rows.
    pub async fn stop_import_job(
        &self,
        view: &PoolView,
        job_id: &str,
    ) -> AuthResult<ImportJobRecord> {
        let mut job = self.import_job(view, job_id).await?;
        match job.status.as_str() {
            "Pending" => {
                job.status = "Stopped".into();
                job.completed_at = Some(self.clock.now());
                job.completion_message = Some("Import Job Stopped".into());
            }
            "InProgress" => job.status = "Stopping".into(),
            _ => {
                return Err(precondition(
                    "The import job is not pending or in progress.",
                ));
            }
        }
        self.write_job(job).await
    }

    /// Writes a running job's counts with `status`, over the stored version; a stop asked
    /// meanwhile (`Stopping`) wins: the job is written `Stopped` and `Err` says it ended.
    async fn save_run(
        &self,
        view: &PoolView,
        mut job: ImportJobRecord,
        status: &str,
    ) -> AuthResult<Result<ImportJobRecord, ()>> {
        for _ in 0..8 {
            let stored = self.import_job(view, &job.job_id).await?;
            job.version = stored.version;
            let stopping = stored.status == "Stopping";
            job.status = if stopping { "Stopped" } else { status }.into();
            if stopping {
                job.completed_at = Some(self.clock.now());
                job.completion_message = Some("Import Job Stopped".into());
            }
            if self.store.update_import_job(&job).await? == CasOutcome::Applied {
                job.version += 1;
                return Ok(if stopping { Err(()) } else { Ok(job) });
            }
        }
        Err(AuthError::new(
            ErrorKind::Internal,
            "Internal server error.",
        ))
    }

    async fn write_job(&self, mut job: ImportJobRecord) -> AuthResult<ImportJobRecord> {
        match self.store.update_import_job(&job).await? {
            CasOutcome::Applied => {
                job.version += 1;
                Ok(job)
            }
            CasOutcome::Stale => Err(precondition(
                "The import job changed meanwhile; describe it and try again.",
            )),
        }
    }

    /// Runs every pending job this node claims (a compare-and-swap to `InProgress`: of the
    /// nodes that try, one runs it). Idempotent; called by every node's background jobs. A
    /// job that fails is logged and the others still run.
    pub async fn run_import_jobs(&self, pools: &crate::directory::Directory) -> AuthResult<()> {
        for mut job in self.store.import_jobs_in("Pending").await? {
            let Some(view) = pools.snapshot().pool(&job.pool_id).cloned() else {
                continue;
            };
            job.status = "InProgress".into();
            let Ok(job) = self.write_job(job).await else {
                continue;
            };
            let id = job.job_id.clone();
            if let Err(e) = self.run_import_job(&view, job).await {
                tracing::error!(job = %id, error = %e.message, "import job failed");
            }
        }
        Ok(())
    }

    async fn run_import_job(&self, view: &PoolView, mut job: ImportJobRecord) -> AuthResult<()> {
        let csv = self
            .store
            .get_import_csv(&job.job_id)
            .await?
            .unwrap_or_default();
        let lines = match cognito_csv_lines(&csv) {
            Ok(lines) if lines.len() > MAX_ROWS => Err(format!("{} rows", lines.len())),
            other => other,
        };
        let lines = match lines {
            Ok(lines) => lines,
            Err(e) => {
                tracing::warn!(job = %job.job_id, error = %e, "import job CSV refused");
                job.status = "Failed".into();
                job.completed_at = Some(self.clock.now());
                job.completion_message = Some("The CSV file is malformed.".into());
                self.write_job(job).await?;
                return Ok(());
            }
        };
        let providers: Vec<String> = view.identity_providers.keys().cloned().collect();
        let mut seen = std::collections::HashSet::new();
        for (n, chunk) in lines.chunks(ROWS_PER_STEP).enumerate() {
            for line in chunk {
                // A hash only under the job's algorithm (none without one).
                let hash_ok = match (&line.password_hash, &job.hash_algorithm) {
                    (Some(h), Some(a)) => of_algorithm(h, a),
                    (Some(_), None) => false,
                    (None, _) => true,
                };
                let mut user = line
                    .user(&view.pool.id, &view.pool.config, self.clock.now())
                    .ok()
                    .filter(|_| hash_ok);
                if let Some(u) = &user {
                    let config = &view.pool.config;
                    if conflict(&*self.store, config, &providers, u, &mut seen)
                        .await?
                        .is_some()
                    {
                        user = None;
                    }
                }
                match user {
                    None => job.failed += 1,
                    Some(u) if self.store.insert_user(&u).await? => job.imported += 1,
                    Some(_) => job.skipped += 1,
                }
            }
            // Counts are written as the job goes; a stop request ends it here.
            if (n + 1) * ROWS_PER_STEP < lines.len() {
                job = match self.save_run(view, job, "InProgress").await? {
                    Ok(job) => job,
                    Err(_stopped) => return Ok(()),
                };
            }
        }
        let message = if job.failed == 0 {
            "Import Job Completed Successfully."
        } else {
            "Completed with some users failing to import."
        };
        job.completion_message = Some(message.into());
        job.completed_at = Some(self.clock.now());
        let _ = self.save_run(view, job, "Succeeded").await?;
        Ok(())
    }
}
