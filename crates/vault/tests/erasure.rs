//! A vault keeps records sealed, shares and rectifies them, and erases them for real: after an
//! erasure no byte left in the vault's folder (its databases and any journal) holds the
//! record's ciphertext, any wrap of its keys, its plaintext or whom it was about.

use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::seal::DecryptionKey;
use civitas_vault::store::open_subject_copy;
use civitas_vault::{EnvelopeError, RecordId, Status, Store, VaultError};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("civitas-vault-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Every byte of every file in `dir`.
fn every_byte(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// What would open record `id` or tie it to its citizen, as kept now: every wrap and every
/// ciphertext (a 64-byte piece of each).
async fn needles(store: &Store, subject: &AccountId, id: RecordId) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (version, recipient, wrapped) in store.wraps_of(id).await.unwrap() {
        out.push((format!("{recipient} wrap v{version}"), wrapped));
    }
    for copy in store.export(subject).await.unwrap() {
        if copy.row.id == id && !copy.ciphertext.is_empty() {
            let bytes = hex::decode(&copy.ciphertext).unwrap();
            let piece = bytes.len().min(64);
            out.push((
                format!("ciphertext v{}", copy.row.version),
                bytes[..piece].to_vec(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn a_record_is_sealed_read_shared_rectified_and_exported() {
    let dir = scratch("flow");
    let store = Store::open(&dir).await.unwrap();
    let agency = DecryptionKey::from_test_seed(1);
    let other_agency = DecryptionKey::from_test_seed(2);
    let citizen = DecryptionKey::from_test_seed(3);
    let subject = AccountId([5; 32]);
    let body = br#"{"name":"Ada Example","born":"1990-04-01"}"#;
    let (row, _) = store
        .create(
            RecordId::random().unwrap(),
            &agency.public(),
            subject,
            Some(&citizen.public()),
            "birth-certificate/v1",
            body,
            10,
        )
        .await
        .unwrap();
    assert_eq!((row.version, row.status), (1, Status::Pending));
    // Pending: not read until its commitment is final.
    assert!(matches!(
        store.read(row.id, &agency).await,
        Err(VaultError::State { .. })
    ));
    store.activate(row.id, 1).await.unwrap();
    let (read, opened) = store.read(row.id, &agency).await.unwrap();
    assert_eq!(&opened[..], &body[..]);
    assert_eq!(read.commitment, row.commitment);
    // Another agency's key does not open it.
    assert!(matches!(
        store.read(row.id, &other_agency).await,
        Err(VaultError::Envelope(_))
    ));

    // Shared: the other agency's vault checks the copy against the ledger's commitment.
    let copy = store
        .share(row.id, "permits", &other_agency.public(), &agency)
        .await
        .unwrap();
    let theirs = Store::open(&dir.join("other")).await.unwrap();
    assert!(matches!(
        theirs
            .receive(
                &copy,
                "civil",
                &Hash32([1; 32]),
                &other_agency,
                None,
                false,
                11
            )
            .await,
        Err(VaultError::Envelope(EnvelopeError::Commitment))
    ));
    // Filed under another citizen, it does not open: the subject is bound.
    let mut misfiled = copy.clone();
    misfiled.subject = AccountId([6; 32]);
    assert!(matches!(
        theirs
            .receive(
                &misfiled,
                "civil",
                &row.commitment,
                &other_agency,
                None,
                false,
                11
            )
            .await,
        Err(VaultError::Envelope(EnvelopeError::Open))
    ));
    let received = theirs
        .receive(
            &copy,
            "civil",
            &row.commitment,
            &other_agency,
            None,
            false,
            11,
        )
        .await
        .unwrap();
    assert_eq!(&received[..], &body[..]);
    let (their_row, _) = theirs.read(row.id, &other_agency).await.unwrap();
    assert_eq!(their_row.origin.as_deref(), Some("civil"));
    // The same id from another holder is refused.
    let err = theirs
        .receive(
            &copy,
            "tax",
            &row.commitment,
            &other_agency,
            None,
            false,
            12,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("another holder"), "{err}");

    // Rectified: version 2 in force once activated; version 1 sealed, for the citizen.
    let fixed = br#"{"name":"Ada Example","born":"1990-04-02"}"#;
    let v2 = store
        .rectify(row.id, &agency.public(), Some(&citizen.public()), fixed, 12)
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    // Not rectified twice while a version is pending; version 1 is not activated again.
    assert!(matches!(
        store
            .rectify(row.id, &agency.public(), None, fixed, 12)
            .await,
        Err(VaultError::State { .. })
    ));
    assert!(matches!(
        store.activate(row.id, 1).await,
        Err(VaultError::State { .. })
    ));
    store.activate(row.id, 2).await.unwrap();
    assert_eq!(
        &store.read(row.id, &agency).await.unwrap().1[..],
        &fixed[..]
    );
    assert_eq!(
        store.version(row.id, 1).await.unwrap().status,
        Status::Superseded
    );
    // The receiving vault gets version 2 and keeps version 1 superseded.
    let copy2 = store
        .share(row.id, "permits", &other_agency.public(), &agency)
        .await
        .unwrap();
    theirs
        .receive(
            &copy2,
            "civil",
            &v2.commitment,
            &other_agency,
            None,
            false,
            13,
        )
        .await
        .unwrap();
    assert_eq!(
        &theirs.read(row.id, &other_agency).await.unwrap().1[..],
        &fixed[..]
    );
    assert_eq!(
        theirs.version(row.id, 1).await.unwrap().status,
        Status::Superseded
    );

    // The citizen downloads both versions and opens them with its own key, checked against
    // the commitments on the ledger.
    let export = store.export(&subject).await.unwrap();
    assert_eq!(export.len(), 2);
    let open = |i: usize, key: &DecryptionKey, on_ledger: &Hash32| {
        open_subject_copy(&export[i], &subject, std::slice::from_ref(key), on_ledger)
    };
    assert_eq!(&open(0, &citizen, &row.commitment).unwrap()[..], &body[..]);
    assert_eq!(&open(1, &citizen, &v2.commitment).unwrap()[..], &fixed[..]);
    assert!(open(1, &agency, &v2.commitment).is_err());
    assert!(open(1, &citizen, &row.commitment).is_err());

    // The citizen lost its key: the agency wraps every version for its new one.
    let recovered = DecryptionKey::from_test_seed(4);
    assert_eq!(
        store
            .rewrap_subject(&subject, &recovered.public(), &agency)
            .await
            .unwrap(),
        2
    );
    let export = store.export(&subject).await.unwrap();
    let opened = open_subject_copy(&export[1], &subject, &[recovered], &v2.commitment).unwrap();
    assert_eq!(&opened[..], &fixed[..]);

    // A pending version that never reached the ledger is discarded.
    let (stray, _) = store
        .create(
            RecordId::random().unwrap(),
            &agency.public(),
            subject,
            None,
            "income/v1",
            b"1",
            13,
        )
        .await
        .unwrap();
    store.discard(stray.id, 1).await.unwrap();
    assert!(matches!(
        store.latest(stray.id).await,
        Err(VaultError::NotFound(_))
    ));
    store.close().await;
    theirs.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn nothing_left_on_disk_opens_an_erased_record() {
    let dir = scratch("erase");
    let store = Store::open(&dir).await.unwrap();
    let agency = DecryptionKey::from_test_seed(1);
    let citizen = DecryptionKey::from_test_seed(3);
    let subject = AccountId([0xa5; 32]);
    // A body long enough to spill into overflow pages, and distinctive.
    let secret = format!("{{\"national_id\":\"ZX-{}\"}}", "493817265".repeat(600));
    let kept_body = b"{\"name\":\"Someone Else\"}";
    let (erased, _) = store
        .create(
            RecordId::random().unwrap(),
            &agency.public(),
            subject,
            Some(&citizen.public()),
            "id-card/v1",
            secret.as_bytes(),
            1,
        )
        .await
        .unwrap();
    store.activate(erased.id, 1).await.unwrap();
    let v2 = store
        .rectify(
            erased.id,
            &agency.public(),
            Some(&citizen.public()),
            format!("{secret}!").as_bytes(),
            2,
        )
        .await
        .unwrap();
    store.activate(erased.id, v2.version).await.unwrap();
    store
        .share(
            erased.id,
            "permits",
            &DecryptionKey::from_test_seed(2).public(),
            &agency,
        )
        .await
        .unwrap();
    let (kept, _) = store
        .create(
            RecordId::random().unwrap(),
            &agency.public(),
            AccountId([6; 32]),
            None,
            "id-card/v1",
            kept_body,
            3,
        )
        .await
        .unwrap();
    store.activate(kept.id, 1).await.unwrap();

    let mut needles = needles(&store, &subject, erased.id).await;
    // Holder and citizen wraps of both versions, and the share's.
    assert_eq!(
        needles
            .iter()
            .filter(|(what, _)| what.contains("wrap"))
            .count(),
        5
    );
    needles.push(("whom it is about".into(), subject.0.to_vec()));
    // Before erasure they are there to be found: the scan can see them.
    let before = every_byte(&dir);
    for (what, needle) in &needles {
        assert!(
            before.iter().any(|(_, bytes)| contains(bytes, needle)),
            "{what} not found before erasure"
        );
    }

    assert_eq!(store.erase(erased.id, 4).await.unwrap(), 2);
    // Erasing again changes nothing; the tombstones say when, and no longer whom.
    assert_eq!(store.erase(erased.id, 5).await.unwrap(), 0);
    for row in store.versions(erased.id).await.unwrap() {
        assert_eq!(
            (row.status, row.erased_ms, row.subject),
            (Status::Erased, Some(4), None)
        );
    }
    assert!(store.read(erased.id, &agency).await.is_err());
    assert!(store.export(&subject).await.unwrap().is_empty());
    assert!(store.wraps_of(erased.id).await.unwrap().is_empty());
    // The record kept is untouched.
    assert_eq!(
        &store.read(kept.id, &agency).await.unwrap().1[..],
        &kept_body[..]
    );
    store.compact().await.unwrap();
    store.close().await;

    let after = every_byte(&dir);
    assert!(after.iter().any(|(p, _)| p.ends_with("records.db")));
    assert!(after.iter().any(|(p, _)| p.ends_with("keys.db")));
    for (path, bytes) in &after {
        for (what, needle) in &needles {
            assert!(
                !contains(bytes, needle),
                "{what} is still in {}",
                path.display()
            );
        }
        assert!(
            !contains(bytes, b"493817265493817265"),
            "plaintext in {}",
            path.display()
        );
    }
    // Reopened, the vault still serves the record kept and nothing of the erased one.
    let store = Store::open(&dir).await.unwrap();
    assert_eq!(
        &store.read(kept.id, &agency).await.unwrap().1[..],
        &kept_body[..]
    );
    assert!(store.read(erased.id, &agency).await.is_err());
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// With many records the key file's pages split and merge as wraps come and go; whatever SQLite
/// moved between pages, no wrap of an erased record is left in the file (the vault also
/// rebuilds the key file after each erasure, so cells copied in a page rebuild cannot
/// survive either).
#[tokio::test]
async fn erasures_among_many_records_leave_no_wrap_in_the_key_file() {
    let dir = scratch("many");
    let store = Store::open(&dir).await.unwrap();
    let agency = DecryptionKey::from_test_seed(1);
    let citizen = DecryptionKey::from_test_seed(3);
    let mut ids = Vec::new();
    for n in 0..600u32 {
        let subject = AccountId(Hash32::sha256(&n.to_be_bytes()).0);
        let (row, _) = store
            .create(
                RecordId::random().unwrap(),
                &agency.public(),
                subject,
                Some(&citizen.public()),
                "income/v1",
                b"{\"income\":1}",
                1,
            )
            .await
            .unwrap();
        store.activate(row.id, 1).await.unwrap();
        ids.push((subject, row.id));
    }
    let mut needles = Vec::new();
    for (subject, id) in ids.iter().step_by(7) {
        needles.extend(self::needles(&store, subject, *id).await);
        store.erase(*id, 2).await.unwrap();
    }
    store.close().await;
    let keys = std::fs::read(dir.join("keys.db")).unwrap();
    for (what, needle) in &needles {
        assert!(
            !contains(&keys, needle),
            "{what} of an erased record is still in keys.db"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
