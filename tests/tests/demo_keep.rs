//! `escrow demo --keep DIR` leaves nodes that can be served again: the nodes' passphrase is in
//! DIR/passphrase (mode 0600) and the demo prints the command that serves a kept node.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_e2e::{bin, escrow, ok, terminate, wait_for_addr};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn a_kept_demo_node_serves_again_with_the_printed_command_and_the_kept_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let text = ok(&escrow(
        tmp.path(),
        &["demo", "--kdf-cost", "test", "--keep", "kept"],
    ));
    let pass = tmp.path().join("kept/passphrase");
    let mode = std::fs::metadata(&pass).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the passphrase file is readable by others");
    assert!(std::fs::read_to_string(&pass).unwrap().trim().len() >= 16);

    // The command the demo printed, run as printed (relative to where the demo ran), with no
    // passphrase in the environment.
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("trustee-node serve --state kept/node-1"))
        .unwrap_or_else(|| panic!("no serve command in the demo's output:\n{text}"));
    assert!(line.contains("--passphrase-file kept/passphrase"), "{line}");
    let bin_dir = bin("trustee-node").parent().unwrap().to_path_buf();
    let mut child = Command::new("sh")
        .args(["-c", &format!("exec {line}")])
        .current_dir(tmp.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env_remove("TRUSTEE_PASSPHRASE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = wait_for_addr(
        &mut child,
        &tmp.path().join("kept/node-1.addr"),
        Duration::from_secs(60),
    );
    let addr = match addr {
        Ok(a) => a,
        Err(e) => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the kept node did not start ({e:?}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    // It is the kept trustee 1, with the log the demo wrote (setup entry and more), served
    // over HTTPS under the kept demo CA, as the demo served it.
    assert!(
        line.contains("--tls-cert") && line.contains("--tls-key"),
        "{line}"
    );
    let cfg = escrow_client::ClientConfig {
        ca_pem: Some(std::fs::read(tmp.path().join("kept/demo-ca.pem")).unwrap()),
        ..escrow_client::ClientConfig::default()
    };
    let info =
        escrow_client::NodeClient::new(&format!("https://{addr}"), &cfg).and_then(|c| c.info());
    terminate(&mut child);
    let info = serde_json::to_value(info.unwrap()).unwrap();
    assert_eq!(info["trustee"], 1, "{info}");
    assert_eq!(info["healthy"], true, "{info}");
    assert!(info["log"]["size"].as_u64().unwrap_or(0) > 1, "{info}");
}
