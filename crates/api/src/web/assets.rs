//! The web app's static files, compiled into the binary: one stylesheet and one
//! JavaScript module, no build step. Pages link them by a name that carries a hash of
//! their content (`/static/app.3f2a9c1b7d.js`), served as immutable for a year: a new
//! release changes the name, so no browser keeps an old copy. The plain names
//! (`/static/style.css`) answer too, cached for an hour, for anything that linked them
//! before.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    /// The plain name, `style.css`.
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/app.js"),
    },
];

/// Each asset's hashed name, in the order of [`ASSETS`].
fn hashed_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = Sha256::digest(a.body);
                let hash: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
                let (stem, ext) = a.name.rsplit_once('.').expect("assets have extensions");
                format!("{stem}.{hash}.{ext}")
            })
            .collect()
    })
}

/// The path pages link an asset by (`/static/style.<hash>.css`).
pub fn url(name: &str) -> String {
    let i = ASSETS
        .iter()
        .position(|a| a.name == name)
        .expect("a known asset");
    format!("/static/{}", hashed_names()[i])
}

/// `GET /static/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    let names = hashed_names();
    for (a, hashed) in ASSETS.iter().zip(names) {
        let cache = if file == *hashed {
            "public, max-age=31536000, immutable"
        } else if file == a.name {
            "public, max-age=3600"
        } else {
            continue;
        };
        return (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, cache),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            a.body,
        )
            .into_response();
    }
    (StatusCode::NOT_FOUND, "Not found").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_carry_the_content_hash() {
        let u = url("style.css");
        assert!(u.starts_with("/static/style."), "{u}");
        assert!(u.ends_with(".css"));
        assert_eq!(u.len(), "/static/style.".len() + 10 + ".css".len());
        assert_ne!(url("app.js"), "/static/app.js");
    }
}
