//! The portal in a real browser: `civitas devnet` with its sample data, and the browser suite
//! in `tests/browser` (Playwright driving headless Chromium, axe-core for WCAG 2.1 AA): verify a
//! document, follow a payment from the dashboard to its proof, sign and submit a transaction in
//! the console and watch it appear, keyboard-only navigation, every main page on a desktop and
//! a phone. Screenshots of the main pages are written to `target/portal-screenshots`.
//!
//! Needs Node.js, Chromium (`CHROMIUM`, default `/usr/bin/chromium`; Debian's `chromium`
//! package) and the suite's npm packages (installed here with `npm ci` when missing).

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn chromium() -> String {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "the browser tests need Chromium at {path}: install Debian's package (`apt-get install chromium`) or set CHROMIUM"
    );
    path
}

/// `POST`s `body` with `content_type`; the status and the body parsed as JSON (or as text).
fn post(url: &str, content_type: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let file = std::env::temp_dir().join(format!("civitas-portal-body-{}", std::process::id()));
    std::fs::write(&file, body).unwrap();
    let output = Command::new("curl")
        .args(["-s", "--max-time", "20", "-X", "POST", "-H"])
        .arg(format!("content-type: {content_type}"))
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .args(["-w", "\n%{http_code}", url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').unwrap();
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.into()));
    (status.trim().parse().unwrap(), json)
}

/// Status, headers and body of a `GET`.
fn fetch(url: &str) -> (u16, String, String) {
    let output = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "20",
            "-D",
            "-",
            "-w",
            "\n%{http_code}",
            url,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let (all, status) = text.rsplit_once('\n').unwrap();
    let (headers, body) = all.split_once("\r\n\r\n").unwrap_or((all, ""));
    (
        status.trim().parse().unwrap(),
        headers.to_ascii_lowercase(),
        body.to_string(),
    )
}

/// What the portal relies on, through the API: a transaction prepared by the node and signed
/// elsewhere, bundles checked by the node, pages and their errors.
fn api_checks(devnet: &Devnet) {
    use civitas_core::crypto::TX_NAMESPACE;
    use civitas_core::keyfile::KeyFile;
    let api = &devnet.api;
    let key = KeyFile::from_json(
        &std::fs::read_to_string(devnet.dir.join("keys/finance-notary.json")).unwrap(),
    )
    .unwrap();
    let account = key.account().to_hex();

    // Refusals name what is wrong.
    let (status, body) = post(
        &format!("{api}/v1/transactions/prepare"),
        "application/json",
        format!(r#"{{"signer":"{account}","instructions":[{{"module":"notary","op":"stamp"}}]}}"#)
            .as_bytes(),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_instruction");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("instruction 0:"),
        "{body}"
    );
    let (status, body) = post(
        &format!("{api}/v1/transactions/prepare"),
        "application/json",
        br#"{"signer":"alice","instructions":[]}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("account id")
    );

    // A body prepared by the node, signed here, is accepted and finalized.
    let document = civitas_core::hash::Hash32::sha256(b"prepared elsewhere");
    let (status, prepared) = post(
        &format!("{api}/v1/transactions/prepare"),
        "application/json",
        format!(
            r#"{{"signer":"{account}","memo":"signed outside the node","instructions":[{{"module":"notary","op":"anchor","document":"{document}","title":"Prepared","metadata":[]}}]}}"#
        )
        .as_bytes(),
    );
    assert_eq!(status, 200, "{prepared}");
    assert_eq!(prepared["signing_namespace"], "civitas/tx/v1");
    let body_bytes = hex::decode(prepared["body_hex"].as_str().unwrap()).unwrap();
    let signature = key.private_key().unwrap().sign(TX_NAMESPACE, &body_bytes);
    let signed = serde_json::json!({
        "body": prepared["body"],
        "signatures": [{ "key": key.public_key, "signature": signature }],
    });
    let (status, submitted) = post(
        &format!("{api}/v1/transactions"),
        "application/json",
        signed.to_string().as_bytes(),
    );
    assert_eq!(status, 202, "{submitted}");
    assert_eq!(submitted["hash"], prepared["hash"]);
    let hash = submitted["hash"].as_str().unwrap().to_string();
    wait_for(
        "the prepared transaction",
        std::time::Duration::from_secs(60),
        || {
            get(&format!("{api}/v1/transactions/{hash}"))
                .is_some_and(|s| s["status"] == "finalized")
        },
    );

    // Bundles: a real one is described, a broken one is not valid, nothing is a 400.
    let bundle = Command::new("curl")
        .args(["-sf", "--max-time", "20"])
        .arg(format!("{api}/v1/proofs/notary/{document}"))
        .output()
        .unwrap()
        .stdout;
    let (status, verdict) = post(
        &format!("{api}/v1/proofs/verify"),
        "application/octet-stream",
        &bundle,
    );
    assert_eq!(status, 200);
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert!(
        verdict["statement"]
            .as_str()
            .unwrap()
            .contains("titled \"Prepared\""),
        "{verdict}"
    );
    let mut broken = bundle.clone();
    let last = broken.len() - 1;
    broken[last] ^= 1;
    let (_, verdict) = post(
        &format!("{api}/v1/proofs/verify"),
        "application/octet-stream",
        &broken,
    );
    assert_eq!(verdict["valid"], false, "{verdict}");
    let (_, verdict) = post(
        &format!("{api}/v1/proofs/verify"),
        "application/octet-stream",
        b"junk",
    );
    assert_eq!(verdict["valid"], false);
    assert!(
        verdict["reason"]
            .as_str()
            .unwrap()
            .contains("not a readable proof bundle")
    );
    let (status, _) = post(
        &format!("{api}/v1/proofs/verify"),
        "application/octet-stream",
        b"",
    );
    assert_eq!(status, 400);

    // Pages: security headers, HTML errors outside the API, JSON errors inside it.
    let (status, headers, body) = fetch(&format!("{api}/"));
    assert_eq!(status, 200);
    assert!(headers.contains("content-security-policy: default-src 'self'; script-src 'self'"));
    assert!(headers.contains("x-frame-options: deny"));
    assert!(body.contains("Skip to content"));
    let (status, headers, body) = fetch(&format!("{api}/no/such/page"));
    assert_eq!(status, 404);
    assert!(headers.contains("content-security-policy: default-src 'self'; script-src 'self'"));
    assert!(body.contains("There is no page at /no/such/page"));
    // Error pages carry the site's layout: the chain's name and every module's section.
    assert!(body.contains("civitas-devnet"), "{body}");
    assert!(body.contains("href=\"/procurement\""), "{body}");
    assert!(body.contains("href=\"/spending\""), "{body}");
    let (status, _, body) = fetch(&format!("{api}/v1/no-such-endpoint"));
    assert_eq!(status, 404);
    assert!(body.contains("\"code\":\"not_found\""));
    let (status, _, body) = fetch(&format!("{api}/explorer/go?q=%3Cscript%3E"));
    assert_eq!(status, 400);
    assert!(!body.contains("<script>"));
    let (status, _, _) = fetch(&format!("{api}/spending/99999999999"));
    assert_eq!(status, 400);
    let (status, _, body) = fetch(&format!("{api}/procurement/tenders/999"));
    assert_eq!(status, 404);
    assert!(body.contains("tender 999 does not exist"), "{body}");
    assert!(body.contains("href=\"/spending\""), "{body}");
    let (status, _, _) = fetch(&format!("{api}/explorer/blocks/999999999"));
    assert_eq!(status, 404);
    let (status, _, body) = fetch(&format!("{api}/explorer/epochs/0"));
    assert_eq!(status, 200);
    assert!(body.contains("Validators of epoch 0"));
    let (status, _, _) = fetch(&format!("{api}/explorer/epochs/99"));
    assert_eq!(status, 404);
    let (status, _, body) = fetch(&format!("{api}/explorer/transactions/{hash}"));
    assert_eq!(status, 200);
    assert!(body.contains("Succeeded."));
    assert!(body.contains("signed outside the node"));
    // Signing in needs a signed read; a bare request is refused.
    let (status, body) = post(&format!("{api}/portal/session"), "application/json", b"{}");
    assert_eq!(status, 401, "{body}");
    // A signed sign-in works once: the same request sent again is refused.
    let (status, issued) = post(
        &format!("{api}/portal/session/challenge"),
        "application/json",
        b"",
    );
    assert_eq!(status, 200, "{issued}");
    let signed_path = issued["sign"].as_str().unwrap().to_string();
    let read = civitas_core::read::SignedRead::sign(
        "civitas-devnet",
        &signed_path,
        key.account(),
        civitas_core::time::TimestampMs(now_ms()),
        &[&key.private_key().unwrap()],
    );
    let mut sign_in = Command::new("curl");
    sign_in.args(["-s", "-D", "-", "-o", "/dev/null", "-X", "POST"]);
    for (name, value) in read.headers() {
        sign_in.args(["-H", &format!("{name}: {value}")]);
    }
    sign_in.args([
        "-H",
        &format!(
            "civitas-challenge: {}",
            issued["challenge"].as_str().unwrap()
        ),
    ]);
    sign_in.arg(format!("{api}/portal/session"));
    let first = String::from_utf8_lossy(&sign_in.output().unwrap().stdout).to_string();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        first
            .to_ascii_lowercase()
            .contains("set-cookie: civitas_session=")
    );
    // The devnet serves plain HTTP, so its cookie is not Secure (nodes are Secure by default).
    assert!(!first.contains("Secure"), "{first}");
    let replay = String::from_utf8_lossy(&sign_in.output().unwrap().stdout).to_string();
    assert!(
        replay.starts_with("HTTP/1.1 401"),
        "a replayed sign-in: {replay}"
    );
    // Another site cannot sign a person in or out.
    let cross = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "sec-fetch-site: cross-site"])
        .arg(format!("{api}/portal/session/end"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&cross.stdout), "403");
    // Nor can a sibling site (same-site, another origin), or an older browser's request from
    // another origin; a request from the portal's own origin gets as far as the session check.
    let host = api.trim_start_matches("http://");
    for (header, path, status) in [
        (
            "sec-fetch-site: same-site",
            "/portal/webhooks?url=https://example.org/",
            "403",
        ),
        (
            "origin: http://portal.evil.example",
            "/portal/inbox/read?through=1.0.0",
            "403",
        ),
        (
            &format!("origin: http://{host}") as &str,
            "/portal/inbox/read?through=1.0.0",
            "401",
        ),
    ] {
        let answer = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args(["-H", header])
            .arg(format!("{api}{path}"))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&answer.stdout),
            status,
            "{header} {path}"
        );
    }
}

#[test]
fn the_portal_works_in_a_real_browser() {
    let browser = chromium();
    let suite = node_suite();
    let devnet = Devnet::start("portal", 29);
    api_checks(&devnet);
    let screenshots = workspace().join("target/portal-screenshots");
    let output = Command::new("node")
        .args(["--test", "--test-concurrency=1", "portal.test.mjs"])
        .current_dir(&suite)
        .env("CIVITAS_PORTAL_URL", &devnet.api)
        .env("CIVITAS_DEVNET_DIR", &devnet.dir)
        .env("CIVITAS_BIN", BIN)
        .env("CIVITAS_SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &browser)
        .output()
        .expect("node could not be started");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser suite failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for page in [
        "home",
        "explorer",
        "verify",
        "spending",
        "procurement",
        "sign-in",
    ] {
        assert!(
            screenshots.join(format!("{page}-desktop.png")).exists(),
            "no screenshot of {page}"
        );
    }
    assert!(report.contains("# fail 0"), "{report}");
}
