//! Leaving and arriving, as Mastodon's web settings do them: the account's aliases
//! ("Moving from another account", `/settings/aliases`), moving it to another
//! account (`/settings/migration`), and exporting its data (`/settings/export`, CSV
//! files in Mastodon's formats).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use minijinja::context;
use serde::Deserialize;
use sluice_engine::portability::{CsvKind, ExportCursor};
use sluice_engine::sign_in::SignInClient;
use sluice_model::Id;

use super::{refusal, saved, saved_to, settings_page, when};
use crate::AppState;
use crate::params::Params;
use crate::ratelimit::Bucket;
use crate::routes::portability::resolve_handle;
use crate::web::{Visitor, WebError, WebResult};

async fn aliases_page(
    state: &AppState,
    visitor: &Visitor,
    p: &Params,
    acct: &str,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult {
    let me = visitor.signed_in("/settings/aliases")?;
    let aliases: Vec<_> = state
        .engine
        .aliases(me.account_id)
        .await?
        .into_iter()
        .map(|a| context! { uri => a.uri, acct => a.acct })
        .collect();
    let account = state.engine.account(me.account_id).await?;
    let handle = account.map(|a| state.engine.full_acct(&a));
    Ok(settings_page(
        state,
        visitor,
        "settings_aliases.html",
        context! {
            title => visitor.t(state, "settings-section-aliases"),
            aliases, acct, error, handle, saved => saved(p),
        },
        status,
    )
    .await)
}

/// `GET /settings/aliases`: the accounts this one moves from.
pub(super) async fn aliases(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    aliases_page(&state, &visitor, &p, "", None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
struct AliasForm {
    #[serde(default)]
    acct: String,
    #[serde(default)]
    uri: String,
}

/// `POST /settings/aliases` (`acct`): adds an alias, found by its handle (WebFinger).
pub(super) async fn add_alias(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/aliases", &p)?.clone();
    let form: AliasForm = p.parse()?;
    let acct = form.acct.trim();
    let refused = match resolve_handle(&state, acct, false).await? {
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            visitor.t(&state, "settings-account-not-found"),
        ),
        Some(target) => match state.engine.add_alias(me.account_id, &target).await {
            Ok(()) => return Ok(saved_to("/settings/aliases")),
            Err(e) => refusal(e)?,
        },
    };
    aliases_page(
        &state,
        &visitor,
        &Params::default(),
        acct,
        Some(&refused.1),
        refused.0,
    )
    .await
}

/// `POST /settings/aliases/remove` (`uri`): removes an alias.
pub(super) async fn remove_alias(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/aliases", &p)?.clone();
    let form: AliasForm = p.parse()?;
    state.engine.remove_alias(me.account_id, &form.uri).await?;
    Ok(saved_to("/settings/aliases"))
}

async fn migration_page(
    state: &AppState,
    visitor: &Visitor,
    p: &Params,
    acct: &str,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult {
    let me = visitor.signed_in("/settings/migration")?;
    let account = state
        .engine
        .account(me.account_id)
        .await?
        .ok_or_else(WebError::not_found)?;
    let moved_to = match account.moved_to_account_id {
        Some(id) => state
            .engine
            .account(id)
            .await?
            .map(|a| state.engine.full_acct(&a)),
        None => None,
    };
    let last_move = state.engine.last_move_at(me.account_id).await?.map(when);
    Ok(settings_page(
        state,
        visitor,
        "settings_migration.html",
        context! {
            title => visitor.t(state, "settings-section-migration"),
            acct, error, moved_to, last_move,
            handle => state.engine.full_acct(&account),
            saved => saved(p),
        },
        status,
    )
    .await)
}

/// `GET /settings/migration`: moving this account to another one.
pub(super) async fn migration(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    migration_page(&state, &visitor, &p, "", None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
struct MoveForm {
    #[serde(default)]
    acct: String,
    #[serde(default)]
    current_password: String,
}

/// `POST /settings/migration` (`acct`, `current_password`): moves the account to
/// `acct`, whose aliases (fetched now) must name this one.
pub(super) async fn start_migration(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/migration", &p)?.clone();
    let form: MoveForm = p.parse()?;
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    let acct = form.acct.trim();
    let refused = match resolve_handle(&state, acct, true).await? {
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            visitor.t(&state, "settings-account-not-found"),
        ),
        Some(target) => {
            let client = SignInClient {
                ip: visitor.ip.clone(),
                device: None,
            };
            match state
                .engine
                .move_account(me.account_id, &target, &form.current_password, &client)
                .await
            {
                Ok(()) => return Ok(saved_to("/settings/migration")),
                Err(e) => refusal(e)?,
            }
        }
    };
    migration_page(
        &state,
        &visitor,
        &Params::default(),
        acct,
        Some(&refused.1),
        refused.0,
    )
    .await
}

/// `GET /settings/export`: the files to download.
pub(super) async fn export(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/settings/export")?;
    let archives: Vec<_> = state
        .engine
        .archives(me.account_id)
        .await?
        .into_iter()
        .map(|a| {
            context! {
                href => format!("/settings/export/archives/{}", a.id),
                state => a.state,
                size_kib => a.size.div_euclid(1024),
                created_at => when(a.created_at),
            }
        })
        .collect();
    let files: Vec<_> = CsvKind::ALL
        .iter()
        .map(|k| {
            context! {
                href => format!("/settings/export/{}.csv", k.name()),
                name => format!("{}.csv", k.name()),
                label => visitor.t(&state, &format!("settings-export-{}", k.name().replace('_', "-"))),
            }
        })
        .collect();
    Ok(settings_page(
        &state,
        &visitor,
        "settings_export.html",
        context! {
            title => visitor.t(&state, "settings-section-export"),
            files,
            archives,
            error => Option::<String>::None,
            saved => saved(&p),
        },
        StatusCode::OK,
    )
    .await)
}

/// `GET /settings/export/{kind}.csv`: one CSV file, written page by page as it is
/// sent (the whole file is never in memory).
pub(super) async fn export_file(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(file): Path<String>,
) -> Result<Response, WebError> {
    let me = visitor.signed_in("/settings/export")?;
    let kind = file
        .strip_suffix(".csv")
        .and_then(CsvKind::from_name)
        .ok_or_else(WebError::not_found)?;
    let account: Id = me.account_id;
    let engine = state.engine.clone();
    // The header first, then one chunk per page of rows.
    let header = kind
        .header()
        .map(|h| csv_rows(&[h.iter().map(|s| s.to_string()).collect()]));
    let pages = futures_util::stream::unfold(Some((0i64, 0i64)), move |cursor| {
        let engine = engine.clone();
        async move {
            let cursor: ExportCursor = cursor?;
            match engine.export_page(account, kind, cursor).await {
                Ok((rows, next)) => Some((
                    Ok::<_, std::io::Error>(bytes::Bytes::from(csv_rows(&rows))),
                    next,
                )),
                Err(e) => {
                    tracing::warn!(error = %e, "export cut short");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let body = futures_util::stream::iter(header.map(|h| Ok(bytes::Bytes::from(h)))).chain(pages);
    let disposition = format!("attachment; filename=\"{}.csv\"", kind.name());
    let mut r = Body::from_stream(body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}

/// Rows as CSV text (RFC 4180 quoting, `\n` line ends, as Mastodon writes them).
fn csv_rows(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .flexible(true)
        .from_writer(Vec::new());
    for r in rows {
        // Writing to memory cannot fail.
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

async fn delete_page(
    state: &AppState,
    visitor: &Visitor,
    error: Option<&str>,
    status: StatusCode,
) -> WebResult {
    let me = visitor.signed_in("/settings/delete")?;
    let account = state
        .engine
        .account(me.account_id)
        .await?
        .ok_or_else(WebError::not_found)?;
    Ok(settings_page(
        state,
        visitor,
        "settings_delete.html",
        context! {
            title => visitor.t(state, "settings-section-delete"),
            error,
            handle => state.engine.full_acct(&account),
        },
        status,
    )
    .await)
}

/// `GET /settings/delete`: deleting the account.
pub(super) async fn delete(State(state): State<AppState>, visitor: Visitor) -> WebResult {
    delete_page(&state, &visitor, None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
struct DeleteForm {
    #[serde(default)]
    current_password: String,
}

/// `POST /settings/delete` (`current_password`): deletes the account and signs this
/// browser out.
pub(super) async fn delete_account(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/delete", &p)?.clone();
    let form: DeleteForm = p.parse()?;
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    let client = SignInClient {
        ip: visitor.ip.clone(),
        device: None,
    };
    match state
        .engine
        .delete_own_account(me.account_id, &form.current_password, &client)
        .await
    {
        Ok(()) => {
            let mut r = crate::routes::see_other("/");
            crate::web::session::clear_session_cookie(&state, &mut r);
            Ok(r)
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            delete_page(&state, &visitor, Some(&message), status).await
        }
    }
}

/// The import page: the form and the account's imports with their progress.
async fn import_page(
    state: &AppState,
    visitor: &Visitor,
    error: Option<&str>,
    status: StatusCode,
    saved: bool,
) -> WebResult {
    let me = visitor.signed_in("/settings/import")?;
    let imports: Vec<_> = state
        .engine
        .imports(me.account_id, 20)
        .await?
        .into_iter()
        .map(|i| {
            let done = i.processed + i.failed;
            context! {
                kind => i.kind,
                mode => i.mode,
                total => i.total,
                done,
                failed => i.failed,
                finished => i.state == "done",
                created_at => when(i.created_at),
            }
        })
        .collect();
    let kinds: Vec<_> = CsvKind::ALL
        .iter()
        .filter(|k| k.importable())
        .map(|k| {
            context! {
                value => k.name(),
                label => visitor.t(state, &format!("settings-export-{}", k.name().replace('_', "-"))),
            }
        })
        .collect();
    Ok(settings_page(
        state,
        visitor,
        "settings_import.html",
        context! {
            title => visitor.t(state, "settings-section-import"),
            imports, kinds, error, saved,
            max_kib => state.engine.config.import_max_bytes / 1024,
        },
        status,
    )
    .await)
}

/// `GET /settings/import`.
pub(super) async fn import(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    import_page(&state, &visitor, None, StatusCode::OK, saved(&p)).await
}

/// `POST /settings/import` (multipart: `type`, `mode`, the file `data`): the file is
/// read as it arrives and refused past `SLUICE_IMPORT_MAX_BYTES`; its rows are
/// stored for the background job.
pub(super) async fn start_import(
    State(state): State<AppState>,
    visitor: Visitor,
    mut multipart: axum::extract::Multipart,
) -> WebResult {
    let max = state.engine.config.import_max_bytes;
    let mut fields = serde_json::Map::new();
    let mut data: Vec<u8> = Vec::new();
    let mut too_large = false;
    let bad = |e: axum::extract::multipart::MultipartError| {
        WebError::Status(StatusCode::BAD_REQUEST, format!("Malformed form: {e}"))
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "data" {
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if data.len() + chunk.len() > max {
                    too_large = true;
                    break;
                }
                data.extend_from_slice(&chunk);
            }
            if too_large {
                break;
            }
        } else if matches!(name.as_str(), "authenticity_token" | "type" | "mode") {
            let text = field.text().await.map_err(bad)?;
            if text.len() <= 256 {
                fields.insert(name, serde_json::Value::String(text));
            }
        }
    }
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (kind, mode) = (text("type"), text("mode"));
    let p = Params(fields);
    let me = visitor.posting(&state, "/settings/import", &p)?.clone();
    if too_large {
        let message = visitor.tf(
            &state,
            "settings-import-too-large",
            &[("max", crate::web::i18n::Arg::Num((max / 1024) as i64))],
        );
        return import_page(
            &state,
            &visitor,
            Some(&message),
            StatusCode::PAYLOAD_TOO_LARGE,
            false,
        )
        .await;
    }
    let Some(kind) = CsvKind::from_name(&kind) else {
        let message = visitor.t(&state, "settings-import-type");
        return import_page(
            &state,
            &visitor,
            Some(&message),
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        )
        .await;
    };
    let rows = match read_csv(&data) {
        Some(rows) => rows,
        None => {
            let message = visitor.t(&state, "settings-import-unreadable");
            return import_page(
                &state,
                &visitor,
                Some(&message),
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
            )
            .await;
        }
    };
    drop(data);
    let mode = if mode.is_empty() {
        "merge".to_string()
    } else {
        mode
    };
    match state
        .engine
        .create_import(me.account_id, kind, &mode, rows)
        .await
    {
        Ok(_) => Ok(saved_to("/settings/import")),
        Err(e) => {
            let (status, message) = refusal(e)?;
            import_page(&state, &visitor, Some(&message), status, false).await
        }
    }
}

/// The rows of a CSV file (UTF-8, any number of fields per row); None when it is not
/// one.
fn read_csv(data: &[u8]) -> Option<Vec<Vec<String>>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rows = Vec::new();
    for record in r.records() {
        let record = record.ok()?;
        rows.push(record.iter().map(str::to_string).collect());
        if rows.len() > sluice_engine::portability::MAX_IMPORT_ROWS + 1 {
            // The engine refuses it; reading on would only spend memory.
            break;
        }
    }
    Some(rows)
}

/// `POST /settings/export/archive`: asks for an archive (once every 7 days).
pub(super) async fn request_archive(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/export", &p)?.clone();
    match state.engine.request_archive(me.account_id).await {
        Ok(()) => Ok(saved_to("/settings/export")),
        Err(e) => {
            let (status, message) = refusal(e)?;
            Err(WebError::Status(status, message))
        }
    }
}

/// `GET /settings/export/archives/{id}`: the zip, to its owner only, once written.
pub(super) async fn download_archive(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let me = visitor.signed_in("/settings/export")?;
    let id = sluice_model::id::parse_id(&id).ok_or_else(WebError::not_found)?;
    let path = state
        .engine
        .archive_file(me.account_id, id)
        .await?
        .ok_or_else(WebError::not_found)?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| WebError::not_found())?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"archive-{id}.zip\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(r)
}
