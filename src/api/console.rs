//! The web console: the pages supervisors and operators use (dashboard,
//! call search and review, reports, agents, queues, dialplans), the
//! supervisor's live floor (`supervisor.html`) and the agent desk
//! (`agent.html`), both fed by the `/api/live` websocket.
//!
//! The console is a handful of static files (HTML, CSS, JavaScript modules)
//! embedded in the binary; there is no build step and nothing is fetched
//! from outside the server. This module only serves those files: the pages
//! themselves talk to the REST API with the API key the user signs in with,
//! so serving them needs no authentication and reveals no data.
//!
//! Routes: `/console` redirects to `/console/`, which serves the index;
//! `/console/{file}` serves one of the embedded files with its content
//! type, or 404.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file of the console.
struct Asset {
    /// Its name under `/console/`.
    name: &'static str,
    /// Its `Content-Type`.
    content_type: &'static str,
    /// Its bytes.
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file the console is made of.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: HTML,
        body: include_str!("console/index.html"),
    },
    Asset {
        name: "style.css",
        content_type: CSS,
        body: include_str!("console/style.css"),
    },
    Asset {
        name: "app.js",
        content_type: JS,
        body: include_str!("console/app.js"),
    },
    Asset {
        name: "ui.js",
        content_type: JS,
        body: include_str!("console/ui.js"),
    },
    Asset {
        name: "charts.js",
        content_type: JS,
        body: include_str!("console/charts.js"),
    },
    Asset {
        name: "dashboard.js",
        content_type: JS,
        body: include_str!("console/dashboard.js"),
    },
    Asset {
        name: "calls.js",
        content_type: JS,
        body: include_str!("console/calls.js"),
    },
    Asset {
        name: "call.js",
        content_type: JS,
        body: include_str!("console/call.js"),
    },
    Asset {
        name: "reports.js",
        content_type: JS,
        body: include_str!("console/reports.js"),
    },
    Asset {
        name: "admin.js",
        content_type: JS,
        body: include_str!("console/admin.js"),
    },
    Asset {
        name: "agent.html",
        content_type: HTML,
        body: include_str!("console/agent.html"),
    },
    Asset {
        name: "agent.js",
        content_type: JS,
        body: include_str!("console/agent.js"),
    },
    Asset {
        name: "supervisor.html",
        content_type: HTML,
        body: include_str!("console/supervisor.html"),
    },
    Asset {
        name: "supervisor.js",
        content_type: JS,
        body: include_str!("console/supervisor.js"),
    },
    Asset {
        name: "live.js",
        content_type: JS,
        body: include_str!("console/live.js"),
    },
];

/// What the pages may load and connect to: only this server (its
/// websocket included). Recordings play from `blob:` URLs and CSV
/// downloads are `blob:` links.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data: blob:; media-src 'self' blob:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   frame-ancestors 'none'; form-action 'self'";

/// The console's routes: `/console`, `/console/` and `/console/{file}`.
/// They need no state and no authentication; merge them into the app.
pub fn routes() -> Router {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(|| async { serve("index.html") }))
        .route(
            "/console/{file}",
            get(|Path(file): Path<String>| async move { serve(&file) }),
        )
}

/// The file named `name`, or 404.
fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no console file named {name:?}\n"),
        )
            .into_response();
    };
    let mut res = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            // The files change with the binary; always revalidate.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        asset.body,
    )
        .into_response();
    if asset.content_type == HTML {
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_the_index_loads_is_embedded() {
        let index = ASSETS
            .iter()
            .find(|a| a.name == "index.html")
            .map(|a| a.body)
            .unwrap_or_default();
        for asset in ASSETS.iter().filter(|a| a.name != "index.html") {
            assert!(!asset.body.trim().is_empty(), "{} is empty", asset.name);
        }
        // Every module imported anywhere is served.
        for asset in ASSETS {
            for part in asset.body.split("from \"./").skip(1) {
                let file = part.split('"').next().unwrap_or_default();
                assert!(
                    ASSETS.iter().any(|a| a.name == file),
                    "{} imports {file}, which is not embedded",
                    asset.name
                );
            }
        }
        assert!(index.contains("src=\"app.js\""), "index loads app.js");
        for (page, script) in [
            ("agent.html", "agent.js"),
            ("supervisor.html", "supervisor.js"),
        ] {
            let body = ASSETS
                .iter()
                .find(|a| a.name == page)
                .map(|a| a.body)
                .unwrap_or_default();
            assert!(
                body.contains(&format!("src=\"{script}\"")),
                "{page} loads {script}"
            );
            assert!(
                index.contains(&format!("href=\"{page}\"")),
                "index links {page}"
            );
        }
    }

    #[test]
    fn nothing_is_loaded_from_outside() {
        for asset in ASSETS {
            // The SVG namespace is a name, not something loaded.
            let body = asset.body.replace("\"http://www.w3.org/2000/svg\"", "");
            for bad in ["http://", "https://", "//cdn", "@import", "url("] {
                assert!(
                    !body.contains(bad),
                    "{} refers to {bad}: the console must be self-contained",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn unknown_files_are_404() {
        assert_eq!(serve("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        assert_eq!(serve("app.js").status(), StatusCode::OK);
        let res = serve("style.css");
        assert_eq!(
            res.headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(CSS.as_bytes())
        );
    }
}
