//! The real `kefu serve` on a copy of the bundled shop dialplan: editing
//! its files reloads it (the API shows the new version), a broken edit is
//! refused with file:line errors while the running version stays, and the
//! server keeps answering throughout.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

fn http_get(addr: SocketAddr, key: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    body.split("\r\n\r\n").nth(1).unwrap_or("").to_string()
}

fn status(k: &common::Kefu) -> serde_json::Value {
    let body = http_get(k.http, &k.api_key(), "/api/dialplans");
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    v[0].clone()
}

/// Waits (up to 15 s) until the status satisfies `pred`.
fn wait_for(k: &common::Kefu, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let s = status(k);
        if pred(&s) {
            return s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "status stuck: {s}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn copy_shop(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans");
    for f in ["shop.toml", "shop.faq.toml"] {
        std::fs::copy(root.join(f), dir.join(f)).expect("copy");
    }
    dir.join("shop.toml")
}

/// Rewrites `file` so that its modification time surely changes.
fn rewrite(file: &Path, text: &str) {
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(file, text).expect("write");
}

#[test]
fn edits_reload_and_broken_edits_keep_the_running_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = copy_shop(dir.path());
    let k = common::start(&["--dialplan", plan.to_str().expect("utf-8")]);
    let s = status(&k);
    assert_eq!(s["name"], "shop");
    assert_eq!(s["version"], 1);
    assert_eq!(s["state"], "ok");
    let faq_before = s["faq"].as_u64().expect("faq count");

    // A new FAQ entry: version 2 with one more entry.
    let faq = dir.path().join("shop.faq.toml");
    let mut text = std::fs::read_to_string(&faq).expect("read");
    text.push_str(
        "\n[[faq]]\nid = \"parking\"\nquestions = [\"where can I park\"]\nanswer = \"Park behind the store.\"\n",
    );
    rewrite(&faq, &text);
    let s = wait_for(&k, |s| s["version"] == 2);
    assert_eq!(s["faq"].as_u64(), Some(faq_before + 1));
    assert_eq!(s["state"], "ok");

    // A broken edit: refused, with the file and line; version 2 stays.
    let good = std::fs::read_to_string(&plan).expect("read");
    let broken = good.replacen("start = \"greet\"", "start = \"greeet\"", 1);
    assert_ne!(broken, good, "the plan starts at greet");
    rewrite(&plan, &broken);
    let s = wait_for(&k, |s| s["state"] == "error");
    assert_eq!(s["version"], 2);
    let errors = s["errors"].to_string();
    let line = broken
        .lines()
        .position(|l| l.contains("greeet"))
        .expect("line")
        + 1;
    assert!(
        errors.contains(&format!("shop.toml:{line}: unknown step `greeet`")),
        "{errors}"
    );
    assert!(
        http_get(k.http, "", "/healthz").contains("ok"),
        "still serving"
    );

    // Fixed again: version 3.
    rewrite(&plan, &good);
    let s = wait_for(&k, |s| s["version"] == 3);
    assert_eq!(s["state"], "ok");
    assert_eq!(s["errors"].as_array().map(Vec::len), Some(0));
}
