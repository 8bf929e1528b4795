//! The OpenAPI document against the router: it is OpenAPI 3.1 JSON; every
//! route of the table the router is built from is documented with the same
//! method and role, and nothing else is; every operation has responses, a
//! role and its path parameters; every `$ref` resolves; and the served
//! router answers every documented route (401 without a key where a role
//! is needed, never 404 or 405).

use std::collections::BTreeSet;
use std::sync::Arc;

use kefu::api::{self, routes, ApiState};
use kefu::runtime::metrics::Metrics;
use kefu::storage::sqlite::SqliteStore;
use serde_json::Value;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
    serde_json::from_str(api::OPENAPI).expect("openapi.json is JSON")
}

/// (METHOD, path) of every documented operation.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        for (method, _) in item.as_object().expect("path item") {
            assert!(METHODS.contains(&method.as_str()), "{path}: {method}");
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

#[test]
fn document_is_openapi_3_1() {
    let d = doc();
    assert!(
        d["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        d["openapi"]
    );
    assert!(d["info"]["title"].is_string() && d["info"]["version"].is_string());
    let schemes = &d["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["apiKey"]["name"], "X-Api-Key");
}

#[test]
fn every_route_is_documented_with_its_method_and_role() {
    let d = doc();
    let table = routes::table();
    let served: BTreeSet<(String, String)> = table
        .iter()
        .map(|r| (r.verb.as_str().to_string(), r.path.to_string()))
        .collect();
    assert_eq!(served.len(), table.len(), "a route is in the table twice");
    let documented = documented(&d);
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "routes not in openapi.json: {missing:?}"
    );
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
    for r in &table {
        let op = &d["paths"][r.path][r.verb.as_str().to_lowercase()];
        assert_eq!(op["x-kefu-role"], r.role_name(), "{r:?}");
        let public = op["security"].as_array().is_some_and(|s| s.is_empty());
        assert_eq!(public, r.role.is_none(), "{r:?}: security");
    }
}

/// Resolves a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

#[test]
fn every_operation_has_responses_role_and_path_parameters() {
    let d = doc();
    for (method, path) in documented(&d) {
        let op = &d["paths"][&path][method.to_lowercase()];
        let what = format!("{method} {path}");
        let responses = op["responses"].as_object().expect(&what);
        assert!(!responses.is_empty(), "{what}: no responses");
        for (code, r) in responses {
            assert!(
                r["description"].is_string(),
                "{what} {code}: no description"
            );
        }
        let role = op["x-kefu-role"].as_str().expect(&what);
        assert!(
            ["public", "read_only", "agent", "supervisor", "admin"].contains(&role),
            "{what}: role {role}"
        );
        if role != "public" {
            assert!(
                responses.contains_key("401") && responses.contains_key("403"),
                "{what}"
            );
        }
        assert!(
            op["summary"].is_string() && op["operationId"].is_string(),
            "{what}"
        );
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| p["$ref"].as_str().map_or(p, |r| resolve(&d, r).expect(r)))
                    .collect()
            })
            .unwrap_or_default();
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            let found = params
                .iter()
                .any(|p| p["in"] == "path" && p["name"] == name);
            assert!(found, "{what}: path parameter {name} undocumented");
        }
    }
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves() {
    let d = doc();
    let mut all = Vec::new();
    refs(&d, &mut all);
    assert!(all.len() > 50, "suspiciously few $refs: {}", all.len());
    for r in all {
        assert!(r.starts_with("#/components/"), "{r}");
        assert!(resolve(&d, r).is_some(), "{r} does not resolve");
    }
}

#[tokio::test]
async fn the_router_serves_every_documented_route() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("kefu.db")).unwrap());
    let state = ApiState::new(store, Metrics::new(1), dir.path().to_path_buf());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api::app(state)).await });
    let http = reqwest::Client::new();
    for r in routes::table() {
        let path = r.path.replace("{file}", "x.toml").replace("{id}", "1");
        let path = path.replace("{name}", "x").replace("{phone}", "1");
        let method = reqwest::Method::from_bytes(r.verb.as_str().as_bytes()).unwrap();
        let res = http
            .request(method, format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        if r.role.is_some() {
            assert_eq!(status, 401, "{r:?}");
        } else {
            assert!(![401, 404, 405].contains(&status), "{r:?}: {status}");
        }
    }
    let served = http
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.text().await.unwrap(), api::OPENAPI);
    let res = http
        .get(format!("{base}/api/undocumented"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
