//! `/api/v1/accounts/*`: registration, credentials, profiles, relationships and the
//! follow/block/mute actions, plus `/api/v1/preferences`.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use sluice_engine::Activity;
use sluice_engine::accounts::{ImageChange, ProfileChange, Registration};
use sluice_engine::read::AccountPage;
use sluice_engine::read::timelines::AccountPosts;
use sluice_engine::rows::{Page, ProfileUpdate, Relation, Side};
use sluice_model::{Id, api, id::parse_id};

use super::scopes::*;
use crate::AppState;
use crate::auth::{Auth, ClientIp};
use crate::error::{ApiError, ApiResult};
use crate::form::field;
use crate::paging::{
    self, DEFAULT_ACCOUNTS_LIMIT, DEFAULT_LIMIT, MAX_ACCOUNTS_LIMIT, MAX_LIMIT, link_header,
};
use crate::params::Params;
use crate::ratelimit::Bucket;

/// `id[]`: the accounts asked about (`GET /api/v1/accounts`, relationships); malformed
/// ids are skipped, at most a page of them read.
#[derive(Debug, Deserialize)]
struct IdsForm {
    #[serde(default, deserialize_with = "field::list")]
    id: Vec<String>,
}

impl IdsForm {
    fn ids(&self) -> Vec<Id> {
        self.id
            .iter()
            .filter_map(|s| parse_id(s))
            .take(MAX_ACCOUNTS_LIMIT as usize)
            .collect()
    }
}

/// `GET /api/v1/accounts/search` (paging by offset).
#[derive(Debug, Deserialize)]
struct SearchForm {
    #[serde(default, deserialize_with = "field::string")]
    q: Option<String>,
    #[serde(default, deserialize_with = "field::int")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "field::int")]
    offset: Option<i64>,
    /// Only accounts the caller follows.
    #[serde(default, deserialize_with = "field::flag")]
    following: bool,
}

/// `GET /api/v1/accounts/:id/statuses`'s choices (paging apart).
#[derive(Debug, Deserialize)]
struct StatusesForm {
    #[serde(default, deserialize_with = "field::flag")]
    exclude_replies: bool,
    #[serde(default, deserialize_with = "field::flag")]
    exclude_reblogs: bool,
    #[serde(default, deserialize_with = "field::string")]
    tagged: Option<String>,
    #[serde(default, deserialize_with = "field::flag")]
    pinned: bool,
    #[serde(default, deserialize_with = "field::flag")]
    only_media: bool,
}

/// `POST /api/v1/accounts`: a registration.
#[derive(Debug, Deserialize)]
struct RegisterForm {
    #[serde(default, deserialize_with = "field::string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    email: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "field::flag")]
    agreement: bool,
    #[serde(default, deserialize_with = "field::string")]
    locale: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    reason: Option<String>,
}

/// `PATCH /api/v1/accounts/update_credentials` (the images are files of the form):
/// what is not sent stays.
#[derive(Debug, Deserialize)]
struct CredentialsForm {
    #[serde(default, deserialize_with = "field::string")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    note: Option<String>,
    #[serde(default, deserialize_with = "fields_attributes")]
    fields_attributes: Option<Vec<ProfileFieldForm>>,
    #[serde(default, deserialize_with = "field::bool")]
    locked: Option<bool>,
    #[serde(default, deserialize_with = "field::bool")]
    bot: Option<bool>,
    #[serde(default, deserialize_with = "field::bool")]
    discoverable: Option<bool>,
    #[serde(default, deserialize_with = "field::bool")]
    indexable: Option<bool>,
    #[serde(default, deserialize_with = "field::bool")]
    hide_collections: Option<bool>,
    #[serde(default, deserialize_with = "field::object")]
    source: SourceForm,
}

/// One profile field: `fields_attributes[0][name]=…&fields_attributes[0][value]=…`,
/// or `{"name": …, "value": …}` in a JSON array.
#[derive(Debug, Default, Deserialize)]
struct ProfileFieldForm {
    #[serde(default, deserialize_with = "field::string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    value: Option<String>,
}

/// `source[…]`: the posting defaults.
#[derive(Debug, Default, Deserialize)]
struct SourceForm {
    #[serde(default, deserialize_with = "field::string")]
    privacy: Option<String>,
    #[serde(default, deserialize_with = "field::bool")]
    sensitive: Option<bool>,
    #[serde(default, deserialize_with = "field::string")]
    language: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    quote_policy: Option<String>,
}

/// `fields_attributes` as a hash by index or a list; any other value is no fields.
fn fields_attributes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<ProfileFieldForm>>, D::Error> {
    field::indexed(d, None)
}

impl CredentialsForm {
    /// The profile fields as stored (JSON), blank ones dropped; None: not sent.
    fn fields(&self) -> Option<String> {
        let fields = self.fields_attributes.as_ref()?;
        let out: Vec<_> = fields
            .iter()
            .map(|f| {
                let name = f.name.as_deref().unwrap_or_default();
                (name, f.value.as_deref().unwrap_or_default())
            })
            .filter(|(name, value)| !name.is_empty() || !value.is_empty())
            .map(|(name, value)| json!({"name": name, "value": value, "verified_at": null}))
            .collect();
        Some(serde_json::to_string(&out).unwrap_or_else(|_| "[]".into()))
    }
}

/// `GET /api/v1/accounts/lookup`.
#[derive(Debug, Deserialize)]
struct LookupForm {
    #[serde(default, deserialize_with = "field::string")]
    acct: Option<String>,
}

/// `POST /api/v1/accounts/:id/follow`: what is not sent stays as it is.
#[derive(Debug, Deserialize)]
struct FollowForm {
    #[serde(default, deserialize_with = "field::bool")]
    reblogs: Option<bool>,
    #[serde(default, deserialize_with = "field::bool")]
    notify: Option<bool>,
}

/// `POST /api/v1/accounts/:id/mute`.
#[derive(Debug, Deserialize)]
struct MuteForm {
    #[serde(default, deserialize_with = "field::bool")]
    notifications: Option<bool>,
    /// Seconds; none: until unmuted.
    #[serde(default, deserialize_with = "field::int")]
    duration: Option<i64>,
}

/// Parses a path id; malformed ids are 404, as Mastodon.
pub(crate) fn path_id(s: &str) -> ApiResult<Id> {
    parse_id(s).ok_or_else(ApiError::not_found)
}

/// A visible account: exists and is not suspended.
async fn account(state: &AppState, id: Id) -> ApiResult<sluice_engine::rows::AccountRow> {
    state
        .engine
        .account(id)
        .await?
        .ok_or_else(ApiError::not_found)
}

pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let session = auth.token(WRITE_ACCOUNTS)?.clone();
    state.limits.check(Bucket::Registration, &ip)?;
    let form: RegisterForm = p.parse()?;
    let (account, _) = state
        .engine
        .register(
            Registration {
                username: form.username.unwrap_or_default(),
                email: form.email.unwrap_or_default(),
                password: form.password.unwrap_or_default(),
                agreement: form.agreement,
                locale: form.locale.unwrap_or_default(),
                reason: form.reason.unwrap_or_default(),
                admin: false,
                ip: Some(ip.clone()),
            },
            false,
        )
        .await?;
    let token = state
        .engine
        .token_for_new_user(session.app_id, account.id, &session.scopes)
        .await?;
    Ok(Json(token))
}

pub async fn verify_credentials(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(PROFILE)?;
    let a = account(&state, me.account_id).await?;
    let u = state
        .engine
        .user(me.account_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Json(state.engine.credential_account(&a, &u).await?))
}

pub async fn update_credentials(
    State(state): State<AppState>,
    auth: Auth,
    up: crate::params::Upload,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let change = profile_change(&up)?;
    change_profile(&state, me.account_id, change).await
}

/// The change `update_credentials` (and `PATCH /api/v1/profile`) asks for.
pub(crate) fn profile_change(up: &crate::params::Upload) -> ApiResult<ProfileChange> {
    let image = |field| up.file(field).map(|f| ImageChange::Set(f.bytes.clone()));
    let (avatar, header) = (image("avatar"), image("header"));
    let form: CredentialsForm = up.params.parse()?;
    let profile = ProfileUpdate {
        fields: form.fields(),
        display_name: form.display_name,
        note: form.note,
        note_source: None,
        locked: form.locked,
        bot: form.bot,
        discoverable: form.discoverable,
        indexable: form.indexable,
        hide_collections: form.hide_collections,
        default_visibility: form.source.privacy,
        default_sensitive: form.source.sensitive,
        default_language: form
            .source
            .language
            .map(|l| Some(l).filter(|l| !l.is_empty())),
        default_quote_policy: super::quotes::policy(form.source.quote_policy.as_deref())?
            .map(|p| p.as_str().to_string()),
        avatar_url: None,
        header_url: None,
    };
    Ok(ProfileChange {
        profile,
        avatar,
        header,
    })
}

/// A profile change, as one activity (stored and sent to the followers' servers
/// together, or not at all); answers with the credential account.
pub(crate) async fn change_profile(
    state: &AppState,
    account: Id,
    change: ProfileChange,
) -> ApiResult<Json<sluice_model::api::Account>> {
    let out = state
        .engine
        .submit(account, Activity::UpdateProfile(Box::new(change)))
        .await?;
    let a = out.account.ok_or_else(ApiError::not_found)?;
    let u = state
        .engine
        .user(a.id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Json(state.engine.credential_account(&a, &u).await?))
}

/// `DELETE /api/v1/profile/avatar` and `/api/v1/profile/header`: back to the default
/// image; the credential account.
pub async fn delete_profile_image(
    State(state): State<AppState>,
    auth: Auth,
    Path(which): Path<String>,
) -> ApiResult<impl IntoResponse> {
    use sluice_engine::media::ProfileImage;
    let which = match which.as_str() {
        "avatar" => ProfileImage::Avatar,
        "header" => ProfileImage::Header,
        _ => return Err(ApiError::not_found()),
    };
    let me = auth.user(WRITE_ACCOUNTS)?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    let image = Some(ImageChange::Remove);
    let change = match which {
        ProfileImage::Avatar => ProfileChange {
            avatar: image,
            ..Default::default()
        },
        ProfileImage::Header => ProfileChange {
            header: image,
            ..Default::default()
        },
    };
    change_profile(&state, me.account_id, change).await
}

/// `GET /api/v1/accounts/:id`. A suspended account is shown too, with `suspended`
/// and a blank profile (Mastodon since 3.3; 410 before).
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let a = state
        .engine
        .account_any(path_id(&id)?)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(state.engine.account_entity_full(&a).await?))
}

/// `GET /api/v1/accounts?id[]=…`: several accounts at once.
pub async fn many(State(state): State<AppState>, p: Params) -> ApiResult<impl IntoResponse> {
    let ids = p.parse::<IdsForm>()?.ids();
    Ok(Json(state.engine.account_entities(&ids).await?))
}

pub async fn lookup(State(state): State<AppState>, p: Params) -> ApiResult<impl IntoResponse> {
    let acct = p.parse::<LookupForm>()?.acct.unwrap_or_default();
    if acct.is_empty() {
        return Err(ApiError::not_found());
    }
    let a = match state.engine.account_by_acct(&acct).await? {
        Some(a) => a,
        None => match local_name(&state, &acct) {
            // A suspended local account is found, and shown as one (Mastodon's).
            Some(name) => state
                .engine
                .suspended_local_account(name)
                .await?
                .ok_or_else(ApiError::not_found)?,
            None => super::activitypub::resolve_remote(&state, &acct)
                .await
                .ok_or_else(ApiError::not_found)?,
        },
    };
    Ok(Json(state.engine.account_entity_full(&a).await?))
}

/// The username of `acct` when it names a local account (`name`, `@name`,
/// `name@our.domain`).
fn local_name<'a>(state: &AppState, acct: &'a str) -> Option<&'a str> {
    let acct = acct.trim().trim_start_matches('@');
    match acct.rsplit_once('@') {
        None => Some(acct),
        Some((name, domain)) if domain.eq_ignore_ascii_case(state.engine.urls.domain()) => {
            Some(name)
        }
        Some(_) => None,
    }
}

pub async fn relationships(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FOLLOWS)?;
    let ids = p.parse::<IdsForm>()?.ids();
    Ok(Json(state.engine.relationships(me.account_id, &ids).await?))
}

/// Familiar followers shown per account asked about.
const FAMILIAR_FOLLOWERS_PER_ACCOUNT: i64 = 40;

/// `GET /api/v1/accounts/familiar_followers?id[]=…`: for each account asked about (in
/// order, repeated ones once), the accounts the caller follows that follow it.
pub async fn familiar_followers(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_FOLLOWS)?;
    let mut ids = p.parse::<IdsForm>()?.ids();
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    Ok(Json(
        state
            .engine
            .familiar_followers(me.account_id, &ids, FAMILIAR_FOLLOWERS_PER_ACCOUNT)
            .await?,
    ))
}

pub async fn search(
    State(state): State<AppState>,
    auth: Auth,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_ACCOUNTS)?;
    let form: SearchForm = p.parse()?;
    let q = form.q.unwrap_or_default();
    let limit = form
        .limit
        .unwrap_or(DEFAULT_ACCOUNTS_LIMIT)
        .clamp(1, MAX_ACCOUNTS_LIMIT);
    let offset = form.offset.unwrap_or(0).clamp(0, 10_000);
    if q.trim().is_empty() {
        return Ok(Json(vec![]));
    }
    let rows = state
        .engine
        .search_accounts(
            q.trim(),
            form.following.then_some(me.account_id),
            limit,
            offset,
        )
        .await?;
    Ok(Json(state.engine.account_entities_of(&rows).await?))
}

pub async fn statuses(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let target = account(&state, path_id(&id)?).await?;
    let viewer = auth.viewer();
    let page = paging::page(&p, DEFAULT_LIMIT, MAX_LIMIT)?;
    let form: StatusesForm = p.parse()?;
    let pinned = form.pinned;
    let ask = AccountPosts {
        exclude_replies: form.exclude_replies,
        exclude_reblogs: form.exclude_reblogs,
        tagged: form.tagged.filter(|t| !t.is_empty()),
        pinned,
        only_media: form.only_media,
    };
    let out = state
        .engine
        .account_timeline(viewer, target.id, ask, page)
        .await?;
    // Pins come in pin order, not by id, so id cursors would not page them; there are
    // few (a page holds them all) and clients ask for them once.
    let headers = if pinned {
        HeaderMap::new()
    } else {
        link_header(state.base(), &uri, &page, &out.cursors)
    };
    Ok((headers, Json(out.statuses)))
}

pub(crate) async fn account_list(
    state: &AppState,
    uri: &axum::http::Uri,
    rel: Relation,
    side: Side,
    owner: Id,
    p: &Params,
) -> ApiResult<(HeaderMap, Json<Vec<api::Account>>)> {
    let page = paging::page(p, DEFAULT_ACCOUNTS_LIMIT, MAX_ACCOUNTS_LIMIT)?;
    let out = state
        .engine
        .relation_accounts(rel, side, owner, page)
        .await?;
    Ok(listed_accounts(state, uri, &page, out))
}

/// A page of accounts as JSON, with the `Link` header paging by the rows that list
/// them.
pub(crate) fn listed_accounts(
    state: &AppState,
    uri: &axum::http::Uri,
    page: &Page,
    out: AccountPage,
) -> (HeaderMap, Json<Vec<api::Account>>) {
    (
        link_header(state.base(), uri, page, &out.cursors),
        Json(out.accounts),
    )
}

pub async fn followers(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let target = account(&state, path_id(&id)?).await?;
    if target.hide_collections && auth.viewer() != Some(target.id) {
        return Ok((HeaderMap::new(), Json(vec![])));
    }
    account_list(&state, &uri, Relation::Follow, Side::Sources, target.id, &p).await
}

pub async fn following(
    State(state): State<AppState>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let target = account(&state, path_id(&id)?).await?;
    if target.hide_collections && auth.viewer() != Some(target.id) {
        return Ok((HeaderMap::new(), Json(vec![])));
    }
    account_list(&state, &uri, Relation::Follow, Side::Targets, target.id, &p).await
}

/// Runs an account action through the pipeline and answers with the relationship.
async fn act(
    state: &AppState,
    me: Id,
    target: Id,
    activity: Activity,
) -> ApiResult<Json<sluice_model::api::Relationship>> {
    account(state, target).await?;
    state.limits.check(Bucket::Write, &me.to_string())?;
    state.engine.submit(me, activity).await?;
    Ok(Json(state.engine.relationship(me, target).await?))
}

pub async fn follow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FOLLOWS)?;
    let target = path_id(&id)?;
    let form: FollowForm = p.parse()?;
    act(
        &state,
        me.account_id,
        target,
        Activity::Follow {
            target,
            reblogs: form.reblogs,
            notify: form.notify,
        },
    )
    .await
}

pub async fn unfollow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FOLLOWS)?;
    let target = path_id(&id)?;
    act(
        &state,
        me.account_id,
        target,
        Activity::UndoFollow { target },
    )
    .await
}

/// `POST /api/v1/accounts/:id/remove_from_followers`: the account no longer follows
/// the caller; its server is told with a `Reject` of the follow.
pub async fn remove_from_followers(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_FOLLOWS)?;
    let follower = path_id(&id)?;
    act(
        &state,
        me.account_id,
        follower,
        Activity::RemoveFollower { follower },
    )
    .await
}

pub async fn block(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_BLOCKS)?;
    let target = path_id(&id)?;
    act(&state, me.account_id, target, Activity::Block { target }).await
}

pub async fn unblock(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_BLOCKS)?;
    let target = path_id(&id)?;
    act(
        &state,
        me.account_id,
        target,
        Activity::UndoBlock { target },
    )
    .await
}

pub async fn mute(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_MUTES)?;
    let target = path_id(&id)?;
    account(&state, target).await?;
    let form: MuteForm = p.parse()?;
    let notifications = form.notifications.unwrap_or(true);
    state
        .engine
        .mute(me.account_id, target, notifications, form.duration)
        .await?;
    Ok(Json(
        state.engine.relationship(me.account_id, target).await?,
    ))
}

/// `POST /api/v1/accounts/:id/note`.
#[derive(Debug, Deserialize)]
struct NoteForm {
    #[serde(default, deserialize_with = "field::string")]
    comment: Option<String>,
}

/// `POST /api/v1/accounts/:id/note`: the caller's private note on an account (none or
/// empty: removed); answers with the relationship, which carries it.
pub async fn note(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    p: Params,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_ACCOUNTS)?;
    let target = path_id(&id)?;
    let form: NoteForm = p.parse()?;
    state
        .limits
        .check(Bucket::Write, &me.token_id.to_string())?;
    state
        .engine
        .set_note(
            me.account_id,
            target,
            form.comment.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(Json(
        state.engine.relationship(me.account_id, target).await?,
    ))
}

pub async fn unmute(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(WRITE_MUTES)?;
    let target = path_id(&id)?;
    state.engine.unmute(me.account_id, target).await?;
    Ok(Json(
        state.engine.relationship(me.account_id, target).await?,
    ))
}

pub async fn preferences(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<impl IntoResponse> {
    let me = auth.user(READ_ACCOUNTS)?;
    let u = state
        .engine
        .user(me.account_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(Json(json!({
        "posting:default:visibility": u.default_visibility,
        "posting:default:sensitive": u.default_sensitive,
        "posting:default:language": u.default_language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false
    })))
}
