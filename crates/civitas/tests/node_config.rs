//! `civitas node start` refuses, with a message saying what to fix and without touching the
//! data, when its data directory belongs to another chain, is not writable, or sits on a disk
//! below the free-space minimum, and when its configuration is out of bounds.

use std::path::Path;
use std::process::Command;

mod common;
use common::*;

/// Starts node 0 with `extra` appended to its node.toml; returns (success, stderr).
fn start_with(dir: &Path, extra: &str) -> (bool, String) {
    let config = dir.join("node0/node.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{original}{extra}\n")).unwrap();
    let output = Command::new(BIN)
        .args(["node", "start", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    std::fs::write(&config, original).unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn node_start_refuses_unusable_data_directories_plainly() {
    let (tmp, dir, _) = init_devnet("config", 5, &[]);

    // Not enough free disk.
    let (started, stderr) = start_with(&dir, "min_free_disk_mb = 1000000000000");
    assert!(!started);
    assert!(stderr.contains("min_free_disk_mb"), "{stderr}");
    assert!(stderr.contains("nothing was lost"), "{stderr}");

    // A proposer wait that would make the others time out.
    let (started, stderr) = start_with(&dir, "empty_block_wait_ms = 10000");
    assert!(!started);
    assert!(stderr.contains("empty_block_wait_ms"), "{stderr}");

    // Data of another chain stays untouched.
    let data = dir.join("node0/data");
    std::fs::create_dir_all(&data).unwrap();
    let other = "ab".repeat(32);
    std::fs::write(data.join("CHAIN"), format!("{other}\n")).unwrap();
    let (started, stderr) = start_with(&dir, "");
    assert!(!started);
    assert!(stderr.contains("belongs to another chain"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(data.join("CHAIN")).unwrap().trim(),
        other
    );
    std::fs::remove_file(data.join("CHAIN")).unwrap();

    // Data this chain's nodes wrote in an earlier storage format is not read, nor changed.
    let genesis_hash = {
        let output = ok(civitas(&[
            "genesis",
            "show",
            "--json",
            dir.join("genesis.json").to_str().unwrap(),
        ]));
        let shown: serde_json::Value = serde_json::from_str(&output).unwrap();
        shown["hash"].as_str().unwrap().to_string()
    };
    let _ = std::fs::remove_file(data.join("FORMAT"));
    std::fs::write(data.join("CHAIN"), format!("{genesis_hash}\n")).unwrap();
    let (started, stderr) = start_with(&dir, "");
    assert!(!started);
    assert!(stderr.contains("storage format 1"), "{stderr}");
    assert!(!data.join("FORMAT").exists());
    std::fs::remove_file(data.join("CHAIN")).unwrap();

    // An unwritable data directory (meaningless for root, who writes anyway).
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o500)).unwrap();
    let root = std::fs::write(data.join("probe"), b"x").is_ok();
    if !root {
        let (started, stderr) = start_with(&dir, "");
        assert!(!started);
        assert!(stderr.contains("not writable"), "{stderr}");
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
}
