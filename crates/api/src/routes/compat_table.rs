//! The compatibility table of `docs/compatibility.md`, made from the route table
//! itself (this directory's `mod.rs`): every endpoint and method the server answers,
//! and whether it is built or an honest placeholder (a handler in `misc.rs`, which
//! answers empty because the feature is not built yet). A test compares the document
//! with what this makes, so the table cannot drift from the code; run it with
//! `SLUICE_BLESS=1` to rewrite the document after changing routes.

/// One `.route(PATH, …)` of the table: its path and `(METHOD, module::handler)` pairs.
#[derive(Debug, PartialEq, Eq)]
pub struct RouteEntry {
    pub path: String,
    pub methods: Vec<(String, String)>,
}

/// The routes of a route-table source, in order.
pub fn routes_in(source: &str) -> Vec<RouteEntry> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The call's arguments: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &rest[..end];
        rest = &rest[end..];
        let Some(path) = args.split('"').nth(1) else {
            continue;
        };
        let mut methods = Vec::new();
        for method in ["get", "post", "put", "patch", "delete", "any"] {
            for (i, _) in args.match_indices(&format!("{method}(")) {
                // `get(` but not `forget(`: a method name starts the word.
                let before = args[..i].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let inner = &args[i + method.len() + 1..];
                let handler: String = inner
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let name = if method == "any" { "ANY" } else { method };
                methods.push((name.to_uppercase(), handler));
            }
        }
        out.push(RouteEntry {
            path: path.to_string(),
            methods,
        });
    }
    out
}

/// The document: one row per endpoint and method.
pub fn table(source: &str) -> String {
    let mut doc = String::from(
        "# Compatibility: what the server answers\n\n\
         Generated from the route table (`crates/api/src/routes/mod.rs`) by the test\n\
         `routes::compat_table::tests::document_matches_the_route_table`; do not edit by\n\
         hand: run `SLUICE_BLESS=1 cargo test -p sluice-api compat_table` after changing\n\
         routes. *built*: the endpoint does what Mastodon's (or the spec's) does.\n\
         *placeholder*: it answers as Mastodon would with nothing to show, because the\n\
         feature is not built yet (a handler in `routes/misc.rs`). Paths under `/api/`\n\
         that are not listed answer a JSON 404 with CORS headers.\n\n\
         | endpoint | method | status | handler |\n|---|---|---|---|\n",
    );
    for r in routes_in(source) {
        if r.path == "/api/{*rest}" {
            continue;
        }
        for (method, handler) in &r.methods {
            let status = if handler.starts_with("misc::") {
                "placeholder"
            } else {
                "built"
            };
            doc.push_str(&format!(
                "| `{}` | {method} | {status} | `{handler}` |\n",
                r.path
            ));
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = include_str!("mod.rs");
    const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/compatibility.md");

    #[test]
    fn reads_routes_with_several_methods() {
        let src = r#"
            .route("/a", get(x::one).post(x::two))
            .route(
                "/b/{id}",
                axum::routing::put(y::three)
                    .delete(y::four),
            )
            .route("/api/{*rest}", axum::routing::any(|| async { e() }))
        "#;
        let r = routes_in(src);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].path, "/a");
        assert_eq!(
            r[0].methods,
            vec![
                ("GET".into(), "x::one".into()),
                ("POST".into(), "x::two".into())
            ]
        );
        assert_eq!(r[1].path, "/b/{id}");
        assert_eq!(
            r[1].methods,
            vec![
                ("PUT".into(), "y::three".into()),
                ("DELETE".into(), "y::four".into())
            ]
        );
    }

    #[test]
    fn document_matches_the_route_table() {
        let want = table(SOURCE);
        assert!(want.contains("| `/api/v1/statuses` | POST | built | `statuses::create` |"));
        if std::env::var_os("SLUICE_BLESS").is_some() {
            std::fs::write(DOC_PATH, &want).unwrap();
        }
        let have = std::fs::read_to_string(DOC_PATH).unwrap_or_default();
        assert!(
            have == want,
            "docs/compatibility.md is not what the route table says: run \
             SLUICE_BLESS=1 cargo test -p sluice-api compat_table"
        );
    }
}
