//! A real node answers a client that floods it with 429, a `Retry-After` and a JSON error, and
//! keeps serving everyone else; `[api]` in node.toml sets the limits and refuses nonsense.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

mod common;
use common::*;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Status, headers (lower case) and body of a `GET` sent from `source` (a loopback address).
fn get_from(url: &str, source: &str) -> (u16, String, String) {
    let output = Command::new("curl")
        .args(["-s", "--max-time", "10", "--interface", source, "-D", "-"])
        .args(["-w", "\n%{http_code}", url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let (all, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let (headers, body) = all.split_once("\r\n\r\n").unwrap_or((all, ""));
    (
        status.trim().parse().unwrap_or(0),
        headers.to_ascii_lowercase(),
        body.to_string(),
    )
}

fn set_api(config: &Path, lines: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(config).unwrap();
    for (key, value) in lines {
        let prefix = format!("api.{key} = ");
        text = text
            .lines()
            .filter(|line| !line.starts_with(&prefix))
            .collect::<Vec<_>>()
            .join("\n");
        text.push_str(&format!("\n{prefix}{value}\n"));
    }
    std::fs::write(config, text).unwrap();
}

#[test]
fn a_flooding_client_is_slowed_and_told_when_to_come_back() {
    let (tmp, dir, base) = init_devnet("limits", 17, &[]);
    let config = dir.join("node0/node.toml");
    // Nonsense is refused before the node starts.
    set_api(&config, &[("requests_per_second", "0")]);
    let refused = Command::new(BIN)
        .args(["node", "start", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("requests_per_second"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    set_api(&config, &[("requests_per_second", "2"), ("burst", "5")]);
    let _node = Running(
        Command::new(BIN)
            .args(["node", "start", "--config"])
            .arg(&config)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let api = format!("http://127.0.0.1:{base}");
    wait_for("the API", Duration::from_secs(30), || {
        get_from(&format!("{api}/healthz"), "127.0.0.1").0 == 200
    });
    // One address sends 20 requests at once: past its burst, it is told to wait.
    let answers: Vec<(u16, String, String)> = (0..20)
        .map(|_| get_from(&format!("{api}/v1/status"), "127.0.0.2"))
        .collect();
    let served = answers
        .iter()
        .filter(|(status, _, _)| *status == 200)
        .count();
    let limited: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| *status == 429)
        .collect();
    assert!((5..20).contains(&served), "{served} of 20 served");
    let (_, headers, body) = limited.first().expect("some requests were limited");
    assert!(headers.contains("retry-after:"), "{headers}");
    let error: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(error["error"]["code"], "rate_limited", "{body}");
    assert!(error["error"]["message"].as_str().unwrap().contains("wait"));
    // The portal's pages count against the same rate.
    let (status, _, _) = get_from(&format!("{api}/explorer"), "127.0.0.2");
    assert_eq!(status, 429);
    // Another address is served meanwhile.
    let (status, _, _) = get_from(&format!("{api}/v1/status"), "127.0.0.3");
    assert_eq!(status, 200);
    let _ = std::fs::remove_dir_all(&tmp);
}
