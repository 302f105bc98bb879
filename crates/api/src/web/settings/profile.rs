//! The profile, posting preferences and the password.
//!
//! A profile change is one `Activity::UpdateProfile`, as the API's
//! `update_credentials` submits: text, settings and images stored together and the
//! actor's `Update` queued with them, or nothing (an accepted avatar with a refused
//! header leaves the profile as it was).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sluice_engine::accounts::{
    ImageChange, MAX_DISPLAY_NAME_CHARS, MAX_FIELD_CHARS, MAX_FIELDS, MAX_NOTE_CHARS,
    MIN_PASSWORD_CHARS, ProfileChange,
};
use sluice_engine::pipeline::Activity;
use sluice_engine::rows::{AccountRow, ProfileUpdate};
use sluice_engine::sign_in::SignInClient;
use sluice_model::Id;
use sluice_model::api::Field;

use super::{refusal, saved, saved_to, settings_page};
use crate::AppState;
use crate::error::ApiError;
use crate::form::field;
use crate::params::{Params, Upload};
use crate::ratelimit::Bucket;
use crate::routes::oauth::device_cookie;
use crate::web::{Visitor, WebError, WebResult, val};

/// The profile form, as sent; checkboxes are present when ticked.
#[derive(Debug, Default, Deserialize)]
struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    note: String,
    #[serde(default, deserialize_with = "fields_attributes")]
    fields_attributes: Option<Vec<FieldForm>>,
    #[serde(default)]
    locked: Option<String>,
    #[serde(default)]
    bot: Option<String>,
    #[serde(default)]
    discoverable: Option<String>,
    #[serde(default)]
    indexable: Option<String>,
    #[serde(default)]
    remove_avatar: Option<String>,
    #[serde(default)]
    remove_header: Option<String>,
}

/// One profile field row: `fields_attributes[0][name]`, `fields_attributes[0][value]`.
#[derive(Debug, Default, Deserialize)]
struct FieldForm {
    #[serde(default, deserialize_with = "field::string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "field::string")]
    value: Option<String>,
}

fn fields_attributes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<FieldForm>>, D::Error> {
    field::indexed(d, Some("must be a list of fields"))
}

/// What the profile form shows: the profile as stored, or as it was sent back.
#[derive(Debug, Serialize)]
struct ProfileValues {
    display_name: String,
    note: String,
    /// Always [`MAX_FIELDS`] rows, blank ones to fill in.
    fields: Vec<(String, String)>,
    locked: bool,
    bot: bool,
    discoverable: bool,
    indexable: bool,
}

fn padded(mut fields: Vec<(String, String)>) -> Vec<(String, String)> {
    while fields.len() < MAX_FIELDS {
        fields.push(Default::default());
    }
    fields
}

impl ProfileValues {
    fn stored(a: &AccountRow) -> Self {
        let fields = serde_json::from_str::<Vec<Field>>(&a.fields)
            .unwrap_or_default()
            .into_iter()
            .map(|f| (f.name, f.value))
            .collect();
        ProfileValues {
            display_name: a.display_name.clone(),
            note: a.note_source.clone(),
            fields: padded(fields),
            locked: a.locked,
            bot: a.bot,
            discoverable: a.discoverable,
            indexable: a.indexable,
        }
    }
}

impl ProfileForm {
    /// The field rows filled in, in order.
    fn field_rows(&self) -> Vec<(String, String)> {
        self.fields_attributes
            .iter()
            .flatten()
            .map(|f| {
                (
                    f.name.clone().unwrap_or_default().trim().to_string(),
                    f.value.clone().unwrap_or_default().trim().to_string(),
                )
            })
            .filter(|(name, value)| !name.is_empty() || !value.is_empty())
            .collect()
    }

    fn values(&self) -> ProfileValues {
        ProfileValues {
            display_name: self.display_name.clone(),
            note: self.note.clone(),
            fields: padded(self.field_rows()),
            locked: self.locked.is_some(),
            bot: self.bot.is_some(),
            discoverable: self.discoverable.is_some(),
            indexable: self.indexable.is_some(),
        }
    }

    /// The profile text and settings the form sets (all of them: a form sends every
    /// field), the fields as stored (JSON).
    fn update(&self) -> ProfileUpdate {
        let fields: Vec<_> = self
            .field_rows()
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value, "verified_at": null}))
            .collect();
        ProfileUpdate {
            display_name: Some(self.display_name.trim().to_string()),
            note: Some(self.note.trim().to_string()),
            fields: Some(json!(fields).to_string()),
            locked: Some(self.locked.is_some()),
            bot: Some(self.bot.is_some()),
            discoverable: Some(self.discoverable.is_some()),
            indexable: Some(self.indexable.is_some()),
            ..Default::default()
        }
    }
}

async fn my_account(state: &AppState, id: Id) -> Result<AccountRow, WebError> {
    state
        .engine
        .account(id)
        .await?
        .ok_or_else(WebError::not_found)
}

async fn profile_page(
    state: &AppState,
    visitor: &Visitor,
    account: &AccountRow,
    values: &ProfileValues,
    error: Option<&str>,
    status: StatusCode,
    saved: bool,
) -> axum::response::Response {
    let entity = state.engine.account_entity(account);
    settings_page(
        state,
        visitor,
        "settings_profile.html",
        context! {
            title => visitor.t(state, "settings-section-profile"),
            account => val(&entity),
            profile => val(values),
            error,
            saved,
            max_display_name => MAX_DISPLAY_NAME_CHARS,
            max_note => MAX_NOTE_CHARS,
            max_field => MAX_FIELD_CHARS,
        },
        status,
    )
    .await
}

/// `GET /settings/profile`.
pub(super) async fn show(State(state): State<AppState>, visitor: Visitor, p: Params) -> WebResult {
    let me = visitor.signed_in("/settings/profile")?;
    let account = my_account(&state, me.account_id).await?;
    let values = ProfileValues::stored(&account);
    Ok(profile_page(
        &state,
        &visitor,
        &account,
        &values,
        None,
        StatusCode::OK,
        saved(&p),
    )
    .await)
}

/// `POST /settings/profile` (a multipart form, for the images): one profile change.
/// A file input left empty changes nothing; "remove" goes back to the default image.
pub(super) async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    up: Result<Upload, ApiError>,
) -> WebResult {
    let up = up?;
    let me = visitor
        .posting(&state, "/settings/profile", &up.params)?
        .clone();
    let form: ProfileForm = up.params.parse()?;
    let image = |name: &str, remove: bool| match up.file(name).filter(|f| !f.bytes.is_empty()) {
        Some(f) => Some(ImageChange::Set(f.bytes.clone())),
        None => remove.then_some(ImageChange::Remove),
    };
    let change = ProfileChange {
        profile: form.update(),
        avatar: image("avatar", form.remove_avatar.is_some()),
        header: image("header", form.remove_header.is_some()),
    };
    let submitted = state
        .engine
        .submit(me.account_id, Activity::UpdateProfile(Box::new(change)))
        .await;
    if let Err(e) = submitted {
        let (status, message) = refusal(e)?;
        let account = my_account(&state, me.account_id).await?;
        return Ok(profile_page(
            &state,
            &visitor,
            &account,
            &form.values(),
            Some(&message),
            status,
            false,
        )
        .await);
    }
    Ok(saved_to("/settings/profile"))
}

/// The preferences form: `source[privacy]`, `source[sensitive]` and
/// `source[quote_policy]` of the API.
#[derive(Debug, Default, Deserialize)]
struct PreferencesForm {
    #[serde(default)]
    default_visibility: String,
    #[serde(default)]
    default_sensitive: Option<String>,
    #[serde(default)]
    default_quote_policy: Option<String>,
}

/// Who may quote new posts by default, and the message ids of what the form calls them.
const QUOTE_POLICIES: [(&str, &str); 3] = [
    ("public", "preferences-quote-public"),
    ("followers", "preferences-quote-followers"),
    ("nobody", "preferences-quote-nobody"),
];

/// The posting defaults a preferences page shows.
struct Defaults<'a> {
    visibility: &'a str,
    sensitive: bool,
    quote_policy: &'a str,
}

/// The default audiences, and the message ids of what the form calls them.
const VISIBILITIES: [(&str, &str); 4] = [
    ("public", "preferences-visibility-public"),
    ("unlisted", "preferences-visibility-unlisted"),
    ("private", "visibility-private"),
    ("direct", "visibility-direct"),
];

async fn preferences_page(
    state: &AppState,
    visitor: &Visitor,
    d: Defaults<'_>,
    error: Option<&str>,
    status: StatusCode,
    saved: bool,
) -> axum::response::Response {
    let choices = |list: &[(&str, &str)]| -> Vec<_> {
        list.iter()
            .map(|&(value, label)| context! { value, label => visitor.t(state, label) })
            .collect()
    };
    let (visibilities, quote_policies) = (choices(&VISIBILITIES), choices(&QUOTE_POLICIES));
    settings_page(
        state,
        visitor,
        "settings_preferences.html",
        context! {
            title => visitor.t(state, "settings-section-preferences"),
            visibilities, visibility => d.visibility, sensitive => d.sensitive,
            quote_policies, quote_policy => d.quote_policy, error, saved,
        },
        status,
    )
    .await
}

/// `GET /settings/preferences`.
pub(super) async fn preferences(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor.signed_in("/settings/preferences")?;
    let user = state
        .engine
        .user(me.account_id)
        .await?
        .ok_or_else(WebError::not_found)?;
    Ok(preferences_page(
        &state,
        &visitor,
        Defaults {
            visibility: &user.default_visibility,
            sensitive: user.default_sensitive,
            quote_policy: user.default_quote_policy.as_deref().unwrap_or("public"),
        },
        None,
        StatusCode::OK,
        saved(&p),
    )
    .await)
}

/// `POST /settings/preferences`: the posting defaults, as a profile change (as the
/// API's `update_credentials` with `source[…]`).
pub(super) async fn save_preferences(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    let me = visitor
        .posting(&state, "/settings/preferences", &p)?
        .clone();
    let form: PreferencesForm = p.parse()?;
    let change = ProfileChange {
        profile: ProfileUpdate {
            default_visibility: Some(form.default_visibility.clone()),
            default_sensitive: Some(form.default_sensitive.is_some()),
            default_quote_policy: form.default_quote_policy.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    let submitted = state
        .engine
        .submit(me.account_id, Activity::UpdateProfile(Box::new(change)))
        .await;
    if let Err(e) = submitted {
        let (status, message) = refusal(e)?;
        return Ok(preferences_page(
            &state,
            &visitor,
            Defaults {
                visibility: &form.default_visibility,
                sensitive: form.default_sensitive.is_some(),
                quote_policy: form.default_quote_policy.as_deref().unwrap_or("public"),
            },
            Some(&message),
            status,
            false,
        )
        .await);
    }
    Ok(saved_to("/settings/preferences"))
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirmation: String,
}

async fn password_page(
    state: &AppState,
    visitor: &Visitor,
    error: Option<&str>,
    status: StatusCode,
    saved: bool,
) -> axum::response::Response {
    settings_page(
        state,
        visitor,
        "settings_password.html",
        context! { title => visitor.t(state, "settings-section-password"), error, saved, min_password => MIN_PASSWORD_CHARS },
        status,
    )
    .await
}

/// `GET /settings/password`.
pub(super) async fn password(
    State(state): State<AppState>,
    visitor: Visitor,
    p: Params,
) -> WebResult {
    visitor.signed_in("/settings/password")?;
    Ok(password_page(&state, &visitor, None, StatusCode::OK, saved(&p)).await)
}

/// `POST /settings/password`: the current password is checked as a sign-in's is
/// (counted against the same limits); on success every other browser and every app
/// is signed out, this browser stays signed in.
pub(super) async fn change_password(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    p: Params,
) -> WebResult {
    let me = visitor.posting(&state, "/settings/password", &p)?.clone();
    let form: PasswordForm = p.parse()?;
    if form.password != form.password_confirmation {
        return Ok(password_page(
            &state,
            &visitor,
            Some(&visitor.t(&state, "settings-password-differ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        )
        .await);
    }
    state.limits.check(Bucket::SignIn, &visitor.ip)?;
    let client = SignInClient {
        ip: visitor.ip.clone(),
        device: device_cookie(&headers),
    };
    let changed = state
        .engine
        .change_password(
            me.account_id,
            &form.current_password,
            &form.password,
            &client,
            Some(me.id),
        )
        .await;
    if let Err(e) = changed {
        let (status, message) = refusal(e)?;
        return Ok(password_page(&state, &visitor, Some(&message), status, false).await);
    }
    Ok(saved_to("/settings/password"))
}
