//! The web app's words: message catalogs in Project Fluent's format, one per language,
//! and the choice among them for a request (its `Accept-Language`).
//!
//! English (`locales/en.ftl`) is built in and is the default: a request that asks for
//! no language we have gets English, and a message missing from the chosen catalog
//! falls back to the English one. More catalogs come from `SLUICE_LOCALES_DIR`, a
//! directory of `<language>.ftl` files read at start (a file for a built-in language
//! replaces the messages it defines).
//!
//! Templates call `t("message-id")`, or `t("message-id", count=n, name=x)` with
//! arguments; Rust code calls [`Catalogs::text`] and [`Catalogs::format`]. Messages
//! without arguments are resolved once, when the catalogs load, into ready strings;
//! only messages with arguments go through Fluent's formatter on each call. Fluent's
//! Unicode isolation marks are off: the strings go into HTML, escaped by minijinja.

use std::collections::HashMap;
use std::path::Path;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_langneg::{NegotiationStrategy, negotiate_languages};
use unic_langid::LanguageIdentifier;

/// The catalogs compiled into the binary: the default language first.
const BUILT_IN: &[(&str, &str)] = &[("en", include_str!("../../locales/en.ftl"))];

/// Languages read from one `Accept-Language` header at most (the rest is ignored).
const MAX_ACCEPTED: usize = 16;

/// A language the catalogs have: an index into [`Catalogs`]. The default (English)
/// is `Lang::default()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lang(usize);

/// One language's messages.
struct Catalog {
    /// The language tag, as `<html lang>` shows it.
    tag: String,
    id: LanguageIdentifier,
    bundle: FluentBundle<FluentResource>,
    /// The messages that need no argument, resolved.
    ready: HashMap<String, String>,
}

/// Every language the web app speaks, loaded once at start.
pub struct Catalogs {
    /// The default language first.
    langs: Vec<Catalog>,
    /// Per language, what the page script says: [`script_strings`].
    script: Vec<String>,
}

/// The messages whose id starts with this are the page script's.
const SCRIPT_PREFIX: &str = "script-";

/// The page script's messages in `lang` as one JSON object (id without its prefix →
/// text, `{n}` where the script puts a value), safe inside a `<script
/// type="application/json">` element: `<`, `>` and `&` are escaped.
fn script_strings(catalogs: &Catalogs, lang: Lang, ids: &[String]) -> String {
    let mut args = FluentArgs::new();
    for name in ["n", "status"] {
        args.set(name, FluentValue::from(format!("{{{name}}}")));
    }
    let map: serde_json::Map<String, serde_json::Value> = ids
        .iter()
        .filter_map(|id| {
            let key = id.strip_prefix(SCRIPT_PREFIX)?;
            Some((
                key.to_string(),
                catalogs.format(lang, id, Some(&args)).into(),
            ))
        })
        .collect();
    serde_json::Value::Object(map)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

impl std::fmt::Debug for Catalogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.langs.iter().map(|c| &c.tag))
            .finish()
    }
}

/// Why the catalogs could not be loaded: names the file (and the line) at fault.
#[derive(Debug)]
pub struct LoadError(String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// The 1-based line of byte `pos` in `src` (an error at the end of the file: its last
/// line that is not blank).
fn line_of(src: &str, pos: usize) -> usize {
    src.as_bytes()[..pos.min(src.trim_end().len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses one catalog's source; `name` is what an error calls it.
fn parse(name: &str, src: String) -> Result<FluentResource, LoadError> {
    FluentResource::try_new(src).map_err(|(res, errors)| {
        let e = &errors[0];
        LoadError(format!(
            "{name}, line {}: {}",
            line_of(res.source(), e.pos.start),
            e.kind
        ))
    })
}

/// The message ids a catalog defines.
fn message_ids(res: &FluentResource) -> Vec<String> {
    res.entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

impl Catalog {
    fn new(tag: &str, id: LanguageIdentifier) -> Self {
        let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
        bundle.set_use_isolating(false);
        Catalog {
            tag: tag.to_string(),
            id,
            bundle,
            ready: HashMap::new(),
        }
    }

    /// Adds a parsed file's messages (replacing ones of the same id when `replace`).
    fn add(&mut self, name: &str, res: FluentResource, replace: bool) -> Result<(), LoadError> {
        if replace {
            self.bundle.add_resource_overriding(res);
            return Ok(());
        }
        self.bundle.add_resource(res).map_err(|errors| {
            LoadError(format!(
                "{name}: {}",
                errors
                    .first()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "invalid catalog".into())
            ))
        })
    }

    /// Resolves the messages that need no argument (`ids`: those the bundle has).
    fn resolve(&mut self, ids: &[String]) {
        for id in ids {
            let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = self.bundle.format_pattern(pattern, None, &mut errors);
            if errors.is_empty() {
                let text = text.into_owned();
                self.ready.insert(id.clone(), text);
            }
        }
    }

    /// Formats message `id` with `args`, when this catalog has it.
    fn format(&self, id: &str, args: Option<&FluentArgs>) -> Option<String> {
        if args.is_none()
            && let Some(s) = self.ready.get(id)
        {
            return Some(s.clone());
        }
        let pattern = self.bundle.get_message(id)?.value()?;
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            tracing::debug!(id, lang = %self.tag, ?errors, "message formatted with errors");
        }
        Some(text.into_owned())
    }
}

impl Catalogs {
    /// The built-in catalogs, plus every `<language>.ftl` file of `dir` when given.
    /// A file that does not parse, or whose name is not a language tag, is an error
    /// naming it (and the line).
    pub fn load(dir: Option<&Path>) -> Result<Catalogs, LoadError> {
        let mut langs: Vec<Catalog> = Vec::new();
        let mut ids: Vec<Vec<String>> = Vec::new();
        for (tag, src) in BUILT_IN {
            let lang: LanguageIdentifier = tag.parse().expect("built-in language tags parse");
            let mut c = Catalog::new(tag, lang);
            let res = parse(&format!("built-in {tag}.ftl"), (*src).to_string())?;
            ids.push(message_ids(&res));
            c.add(tag, res, false)?;
            langs.push(c);
        }
        if let Some(dir) = dir {
            let read = std::fs::read_dir(dir)
                .map_err(|e| LoadError(format!("SLUICE_LOCALES_DIR {}: {e}", dir.display())))?;
            let mut files: Vec<std::path::PathBuf> = read
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "ftl"))
                .collect();
            files.sort();
            for path in files {
                let shown = path.display().to_string();
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                let lang: LanguageIdentifier = stem.parse().map_err(|_| {
                    LoadError(format!(
                        "{shown}: the file's name is not a language tag (such as de.ftl or pt-BR.ftl)"
                    ))
                })?;
                let src = std::fs::read_to_string(&path)
                    .map_err(|e| LoadError(format!("{shown}: {e}")))?;
                let res = parse(&shown, src)?;
                let new_ids = message_ids(&res);
                let i = match langs.iter().position(|c| c.id == lang) {
                    Some(i) => {
                        langs[i].add(&shown, res, true)?;
                        i
                    }
                    None => {
                        let mut c = Catalog::new(&lang.to_string(), lang);
                        c.add(&shown, res, false)?;
                        langs.push(c);
                        ids.push(Vec::new());
                        langs.len() - 1
                    }
                };
                ids[i].extend(new_ids);
            }
        }
        for (c, ids) in langs.iter_mut().zip(&ids) {
            c.resolve(ids);
        }
        let mut catalogs = Catalogs {
            langs,
            script: Vec::new(),
        };
        // Every language has every script message (English where it lacks one).
        catalogs.script = (0..catalogs.langs.len())
            .map(|i| script_strings(&catalogs, Lang(i), &ids[0]))
            .collect();
        Ok(catalogs)
    }

    /// The built-in catalogs only (they always load).
    pub fn built_in() -> Catalogs {
        Catalogs::load(None).expect("built-in catalogs parse")
    }

    /// The language for a request's `Accept-Language` header: its most preferred one
    /// we have a catalog for, else the default.
    pub fn negotiate(&self, accept_language: Option<&str>) -> Lang {
        // English only (no SLUICE_LOCALES_DIR): nothing to choose.
        let Some(header) = accept_language.filter(|_| self.langs.len() > 1) else {
            return Lang::default();
        };
        // Most wanted first (a stable sort keeps the header's order among equals);
        // `q=0` means "not this one".
        let mut wanted: Vec<(f32, LanguageIdentifier)> = header
            .split(',')
            .take(MAX_ACCEPTED)
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                let id: LanguageIdentifier = tag.parse().ok()?;
                (q > 0.0).then_some((q, id))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let requested: Vec<LanguageIdentifier> = wanted.into_iter().map(|(_, id)| id).collect();
        let available: Vec<&LanguageIdentifier> = self.langs.iter().map(|c| &c.id).collect();
        let default = &self.langs[0].id;
        let chosen = negotiate_languages(
            &requested,
            &available,
            Some(&default),
            NegotiationStrategy::Lookup,
        );
        chosen
            .first()
            .and_then(|id| self.langs.iter().position(|c| &c.id == **id))
            .map_or(Lang::default(), Lang)
    }

    /// The language whose tag is `tag` (as [`Catalogs::tag`] gives it), else the default.
    pub fn by_tag(&self, tag: &str) -> Lang {
        self.langs
            .iter()
            .position(|c| c.tag == tag)
            .map_or(Lang::default(), Lang)
    }

    /// What the page script says, in `lang`: a JSON object for the page to carry.
    pub fn script(&self, lang: Lang) -> &str {
        &self.script[lang.0]
    }

    /// The tag of `lang`, for `<html lang>`.
    pub fn tag(&self, lang: Lang) -> &str {
        &self.langs[lang.0].tag
    }

    /// Message `id` without arguments in `lang` (English when `lang` lacks it; the id
    /// itself, logged, when no catalog has it).
    pub fn text(&self, lang: Lang, id: &str) -> String {
        self.format(lang, id, None)
    }

    /// Message `id` formatted with `args` in `lang`, falling back as [`Catalogs::text`].
    pub fn format(&self, lang: Lang, id: &str, args: Option<&FluentArgs>) -> String {
        self.langs[lang.0]
            .format(id, args)
            .or_else(|| self.langs[0].format(id, args))
            .unwrap_or_else(|| {
                tracing::warn!(id, "no catalog has this message");
                id.to_string()
            })
    }

    /// Message `id` with string and number arguments, as a handler builds it.
    pub fn format_with(&self, lang: Lang, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in args {
            match v {
                Arg::Str(s) => a.set(*k, FluentValue::from(*s)),
                Arg::Num(n) => a.set(*k, FluentValue::from(*n)),
            }
        }
        self.format(lang, id, Some(&a))
    }
}

/// An argument of a message formatted in Rust.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Str(&'a str),
    Num(i64),
}

/// The template function `t(id, **args)`: message `id` in the page's language (the
/// context's `lang`), formatted with the keyword arguments when there are any.
pub fn template_function(
    catalogs: std::sync::Arc<Catalogs>,
) -> impl Fn(&minijinja::State, &str, minijinja::value::Kwargs) -> Result<String, minijinja::Error>
+ Send
+ Sync
+ 'static {
    move |state, id, kwargs| {
        let lang = state
            .lookup("lang")
            .and_then(|v| v.as_str().map(|t| catalogs.by_tag(t)))
            .unwrap_or_default();
        let mut keys = kwargs.args().peekable();
        if keys.peek().is_none() {
            return Ok(catalogs.text(lang, id));
        }
        let mut args = FluentArgs::new();
        for k in keys {
            let v: minijinja::Value = kwargs.get(k)?;
            let fv = match i64::try_from(v.clone()) {
                Ok(n) if v.is_number() => FluentValue::from(n),
                _ => match v.as_str() {
                    Some(s) => FluentValue::from(s.to_string()),
                    None => FluentValue::from(v.to_string()),
                },
            };
            args.set(k.to_string(), fv);
        }
        Ok(catalogs.format(lang, id, Some(&args)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_the_default_and_the_fallback() {
        let c = Catalogs::built_in();
        assert_eq!(c.tag(c.negotiate(None)), "en");
        assert_eq!(c.tag(c.negotiate(Some("fr-FR,fr;q=0.9"))), "en");
        assert_eq!(c.tag(c.negotiate(Some("garbage;;;,,"))), "en");
        assert_eq!(
            c.text(Lang::default(), "no-such-message"),
            "no-such-message"
        );
    }

    #[test]
    fn plurals_and_arguments() {
        let c = Catalogs::built_in();
        let en = Lang::default();
        assert_eq!(
            c.format_with(en, "status-replies-to-this", &[("count", Arg::Num(1))]),
            "1 reply to this"
        );
        assert_eq!(
            c.format_with(en, "status-replies-to-this", &[("count", Arg::Num(2))]),
            "2 replies to this"
        );
        assert_eq!(
            c.format_with(en, "sign-in-heading", &[("title", Arg::Str("<Sluice>"))]),
            "Sign in to <Sluice>",
            "no isolation marks, no escaping (the template escapes)"
        );
        // Resolved once: a message without arguments is a ready string.
        assert_eq!(
            c.langs[0].ready.get("nav-home").map(String::as_str),
            Some("Home")
        );
        assert!(!c.langs[0].ready.contains_key("profile-posts"));
    }

    #[test]
    fn a_directory_adds_languages_and_q_values_order_them() {
        let dir = std::env::temp_dir().join(format!("sluice-i18n-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("de.ftl"), "nav-home = Startseite\n").unwrap();
        let c = Catalogs::load(Some(&dir)).unwrap();
        let de = c.negotiate(Some("en;q=0.5,de-DE;q=0.9"));
        assert_eq!(c.tag(de), "de");
        assert_eq!(c.text(de, "nav-home"), "Startseite");
        // Missing in German: English.
        assert_eq!(c.text(de, "nav-settings"), "Settings");
        assert_eq!(c.tag(c.negotiate(Some("de;q=0,en"))), "en");
        std::fs::write(dir.join("fr.ftl"), "ok = fine\nbroken = {\n").unwrap();
        let e = Catalogs::load(Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("fr.ftl, line 2"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every `t("…")` of the templates names a message of the English catalog.
    #[test]
    fn every_message_the_templates_use_exists() {
        let c = Catalogs::built_in();
        let en = &c.langs[0];
        let mut used = 0;
        for (name, src) in super::super::templates() {
            let mut rest = src;
            while let Some(i) = rest.find("t(\"") {
                let before = &rest[..i];
                rest = &rest[i + 3..];
                // `t(` alone, not the end of another name (`list(`, `format(`).
                if before
                    .chars()
                    .last()
                    .is_some_and(|ch| ch.is_alphanumeric() || ch == '_')
                {
                    continue;
                }
                let id = &rest[..rest.find('"').expect("closing quote")];
                assert!(
                    en.bundle.has_message(id),
                    "{name} uses message {id:?}, missing from en.ftl"
                );
                used += 1;
            }
        }
        assert!(used > 100, "only {used} messages found in the templates");
    }

    /// Every message id the web app's Rust code names (a kebab-case string literal)
    /// is in the English catalog.
    #[test]
    fn every_message_the_handlers_use_exists() {
        const SOURCES: &[(&str, &str)] = &[
            ("actions.rs", include_str!("actions.rs")),
            ("auth_pages.rs", include_str!("auth_pages.rs")),
            ("email_pages.rs", include_str!("email_pages.rs")),
            ("interact.rs", include_str!("interact.rs")),
            ("mine.rs", include_str!("mine.rs")),
            ("mod.rs", include_str!("mod.rs")),
            ("public.rs", include_str!("public.rs")),
            ("session.rs", include_str!("session.rs")),
            ("timelines.rs", include_str!("timelines.rs")),
            ("settings/mod.rs", include_str!("settings/mod.rs")),
            ("settings/access.rs", include_str!("settings/access.rs")),
            ("settings/filters.rs", include_str!("settings/filters.rs")),
            ("settings/profile.rs", include_str!("settings/profile.rs")),
            (
                "settings/relations.rs",
                include_str!("settings/relations.rs"),
            ),
            (
                "settings/two_factor.rs",
                include_str!("settings/two_factor.rs"),
            ),
        ];
        let c = Catalogs::built_in();
        let en = &c.langs[0];
        let mut used = 0;
        for (name, src) in SOURCES {
            // The code, not its comments.
            let code: String = src
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            for lit in code.split('"').skip(1).step_by(2) {
                let kebab = lit.contains('-')
                    && lit.starts_with(|ch: char| ch.is_ascii_lowercase())
                    && lit
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-');
                if kebab {
                    assert!(
                        en.bundle.has_message(lit),
                        "{name} uses message {lit:?}, missing from en.ftl"
                    );
                    used += 1;
                }
            }
        }
        assert!(used > 40, "only {used} message ids found in the handlers");
    }
}
