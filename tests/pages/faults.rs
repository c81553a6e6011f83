//! A full disk under the embedded default: every refusal is a 503 that says when to come back
//! (never a 500), readiness says the database cannot write while it lasts, and once space is
//! freed everything goes on where it stopped, with nothing lost and nobody throttled.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use axum::http::{StatusCode, header};

use crate::support::{Browser, Idp, PASSWORD, PIN, authorize, exchange_with_headers};

/// A small tmpfs of its own (root only): unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None`, said on stderr, where a tmpfs cannot be mounted here (not root).
    fn mount(megabytes: u32) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|out| out.status.success());
        if !mounted {
            eprintln!("SKIPPED: a full disk needs a tmpfs, which only root can mount");
            return None;
        }
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills what is left with one file, until the disk refuses more: its path.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        while file.write_all(&chunk[..512]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The readiness answer: status and body.
async fn ready(browser: &mut Browser<'_>) -> (StatusCode, serde_json::Value) {
    let page = browser.get("/readyz").await;
    (page.status, serde_json::from_str(&page.body).unwrap())
}

#[tokio::test]
async fn a_full_disk_answers_503_with_retry_after_and_everything_resumes_when_space_returns() {
    let Some(disk) = SmallDisk::mount(24) else {
        return;
    };
    let data = disk.path().join("data");
    let idp = Idp::with(|s| {
        s.data_dir = data.clone();
        s.database_url = format!("sqlite://{}/idp.db", data.display());
        s.new_device.enabled = false;
    })
    .await;
    idp.client("rp", true).await;
    idp.user("ann").await;
    let mut browser = Browser::new(&idp);
    assert_eq!(ready(&mut browser).await.0, StatusCode::OK);
    // A sign-in that reached the relying party, and one at the PIN step, before the disk
    // fills.
    let answer = browser.sign_in(&authorize("rp", &[]), "ann").await;
    assert!(answer.gives_code(), "{answer:?}");
    let mut second = Browser::new(&idp);
    let (login, _) = second.open(&authorize("rp", &[])).await;
    let pin_page = second
        .post(&login, &[("username", "ann"), ("password", PASSWORD)])
        .await;
    assert!(pin_page.to().ends_with("/pin"), "{pin_page:?}");

    let filler = disk.fill();

    let (status, body) = ready(&mut browser).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["database"], "cannot_write", "{body}");
    // The code exchange writes (the code is spent): refused, and the code kept.
    let (status, headers, body) = exchange_with_headers(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(headers.contains_key(header::RETRY_AFTER));
    // Pages that write: 503 with Retry-After, never 500.
    let mut third = Browser::new(&idp);
    for _ in 0..3 {
        let page = third.get(&authorize("rp", &[])).await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{page:?}");
        assert!(page.retry_after.is_some(), "{page:?}");
    }
    let page = second.post(pin_page.to(), &[("pin", PIN)]).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{page:?}");
    assert!(page.retry_after.is_some(), "{page:?}");

    std::fs::remove_file(filler).unwrap();

    let (status, body) = ready(&mut browser).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The refused exchange changed nothing: the code still works, once.
    let (status, _, body) = exchange_with_headers(&idp, "rp", &answer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The sign-in at the PIN step goes on where it stopped: its refused PIN cost no try.
    let page = second.post(pin_page.to(), &[("pin", PIN)]).await;
    assert!(page.gives_code(), "{page:?}");
    let page = third.sign_in(&authorize("rp", &[]), "ann").await;
    assert!(page.gives_code(), "{page:?}");
}
