//! Cognito's user import jobs: `GetCSVHeader`, `CreateUserImportJob` (with a pre-signed URL
//! this server takes the CSV at), `StartUserImportJob`, `StopUserImportJob`,
//! `DescribeUserImportJob`, `ListUserImportJobs`. The jobs' rules and runs are core's
//! (`auth::import_jobs`).

use serde_json::{Value, json};
use userpool_core::auth::import_jobs::csv_header;
use userpool_core::store::ImportJobRecord;

use super::member;
use super::users::pool_view;
use crate::{Api, ApiError};

/// `UserImportJobType`.
fn job_type(job: &ImportJobRecord, url: Option<&str>) -> Value {
    let mut j = json!({
        "JobName": job.job_name,
        "JobId": job.job_id,
        "UserPoolId": job.pool_id,
        "CreationDate": job.created_at,
        "Status": job.status,
        "CloudWatchLogsRoleArn": job.role_arn,
        "ImportedUsers": job.imported,
        "SkippedUsers": job.skipped,
        "FailedUsers": job.failed,
    });
    let mut set = |k: &str, v: Value| {
        if !v.is_null() {
            j[k] = v;
        }
    };
    set("PreSignedUrl", json!(url));
    set("StartDate", json!(job.started_at));
    set("CompletionDate", json!(job.completed_at));
    set("CompletionMessage", json!(job.completion_message));
    set("PasswordHashingAlgorithm", json!(job.hash_algorithm));
    j
}

pub(super) async fn get_csv_header(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    Ok(json!({ "UserPoolId": view.pool.id, "CSVHeader": csv_header(&view.pool.config) }))
}

pub(super) async fn create(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    let name: String = member(&input, "JobName")?;
    let role: String = member(&input, "CloudWatchLogsRoleArn")?;
    let algorithm: Option<String> = member(&input, "PasswordHashingAlgorithm")?;
    let public_url = api.directory.settings().public_url().to_string();
    let (job, url) = api
        .auth
        .create_import_job(&view, &name, &role, algorithm.as_deref(), &public_url)
        .await?;
    Ok(json!({ "UserImportJob": job_type(&job, Some(&url)) }))
}

pub(super) async fn start(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    let job = api
        .auth
        .start_import_job(&view, &member::<String>(&input, "JobId")?)
        .await?;
    Ok(json!({ "UserImportJob": job_type(&job, None) }))
}

pub(super) async fn stop(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    let job = api
        .auth
        .stop_import_job(&view, &member::<String>(&input, "JobId")?)
        .await?;
    Ok(json!({ "UserImportJob": job_type(&job, None) }))
}

pub(super) async fn describe(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    let job = api
        .auth
        .import_job(&view, &member::<String>(&input, "JobId")?)
        .await?;
    Ok(json!({ "UserImportJob": job_type(&job, None) }))
}

pub(super) async fn list(api: &Api, input: Value) -> Result<Value, ApiError> {
    let view = pool_view(api, &input).await?;
    let max: i64 = member(&input, "MaxResults")?;
    let after: Option<String> = member(&input, "PaginationToken")?;
    let mut jobs = api
        .store
        .list_import_jobs(&view.pool.id, after.as_deref(), max + 1)
        .await?;
    let next = (jobs.len() as i64 > max).then(|| {
        jobs.truncate(max as usize);
        jobs.last().map(|j| j.job_id.clone())
    });
    let mut answer = json!({
        "UserImportJobs": jobs.iter().map(|j| job_type(j, None)).collect::<Vec<_>>(),
    });
    if let Some(Some(token)) = next {
        answer["PaginationToken"] = json!(token);
    }
    Ok(answer)
}
