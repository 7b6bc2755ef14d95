//! Authorization by the on-chain Cedar policies: a matrix over every role and instruction of
//! the built-in modules, cross-agency and citizen attempts, forbids, multi-signature accounts
//! and co-signers, and governance changing a policy from the right height.

mod common;

use civitas_core::crypto::PrivateKey;
use civitas_core::event::Event;
use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    GovernanceAction, IdentityInstruction, Instruction, NotaryInstruction,
};
use civitas_core::receipt::Receipt;
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody};
use civitas_exec::Mode;
use civitas_modules::authz::{self, PolicyHead, PolicySetRecord};
use common::*;
use std::collections::BTreeMap;

/// A chain with officials of every role in two agencies, citizens, a document and an open
/// proposal, and each actor's next nonce.
#[derive(Clone)]
struct World {
    chain: Chain,
    keys: BTreeMap<&'static str, PrivateKey>,
    nonces: BTreeMap<&'static str, u64>,
}

const ACTORS: [&str; 11] = [
    "finance-admin",
    "finance-notary",
    "finance-registrar",
    "finance-clerk",
    "land-admin",
    "land-notary",
    "land-registrar",
    "land-clerk",
    "citizen",
    "finance-target",
    "citizen-b",
];

impl World {
    fn new() -> Self {
        let mut world = Self {
            chain: Chain::new(),
            keys: BTreeMap::new(),
            nonces: BTreeMap::new(),
        };
        for (i, name) in ACTORS.iter().enumerate() {
            let seed = match *name {
                "finance-admin" => 101,
                "land-admin" => 102,
                _ => 500 + i as u64,
            };
            world.keys.insert(name, PrivateKey::from_test_seed(seed));
        }
        for (admin, official, roles) in [
            ("finance-admin", "finance-notary", vec!["notary"]),
            ("finance-admin", "finance-registrar", vec!["registrar"]),
            ("finance-admin", "finance-clerk", vec!["clerk"]),
            ("finance-admin", "finance-target", vec!["clerk"]),
            ("land-admin", "land-notary", vec!["notary"]),
            ("land-admin", "land-registrar", vec!["registrar"]),
            ("land-admin", "land-clerk", vec!["clerk"]),
        ] {
            let agency = official.split('-').next().unwrap().to_string();
            let op = Instruction::Identity(IdentityInstruction::RegisterOfficial {
                key: world.key(official).public_key(),
                agency,
                name: official.into(),
                roles: roles.into_iter().map(String::from).collect(),
            });
            assert!(world.send(admin, op).succeeded());
        }
        for citizen in ["citizen", "citizen-b"] {
            let op = Instruction::Identity(IdentityInstruction::RegisterCitizen {
                key: world.key(citizen).public_key(),
            });
            assert!(world.send("finance-registrar", op).succeeded());
        }
        assert!(world.send("finance-notary", anchor(&doc())).succeeded());
        let open = propose(GovernanceAction::SetThreshold { threshold: 3 });
        assert!(world.send("land-admin", open).succeeded());
        world
    }

    fn key(&self, name: &str) -> &PrivateKey {
        &self.keys[name]
    }

    fn id(&self, name: &str) -> String {
        self.key(name).public_key().account_id().to_string()
    }

    fn signed(&mut self, name: &'static str, signers: &[&str], op: Instruction) -> SignedTx {
        let nonce = self.nonces.entry(name).or_insert(0);
        let body = TxBody {
            chain_id: "test".into(),
            signer: self.keys[name].public_key().account_id(),
            nonce: *nonce,
            expiry: TimestampMs(u64::MAX),
            instructions: vec![op],
            memo: String::new(),
        };
        *nonce += 1;
        let keys: Vec<&PrivateKey> = signers.iter().map(|s| &self.keys[s]).collect();
        body.into_signed(&keys)
    }

    fn send(&mut self, name: &'static str, op: Instruction) -> Receipt {
        let tx = self.signed(name, &[name], op);
        self.chain.one(tx)
    }

    fn head(&self) -> PolicyHead {
        read(&self.chain, &authz::head_key()).unwrap()
    }
}

fn doc() -> Hash32 {
    Hash32::sha256(b"finance deed")
}

fn message(receipt: &Receipt) -> String {
    receipt.outcome.message().unwrap_or_default()
}

/// Every instruction of the built-in modules, aimed at finance's records.
fn instructions(world: &World) -> Vec<(&'static str, Instruction)> {
    let fresh = PrivateKey::from_test_seed(900).public_key();
    vec![
        (
            "identity.register_official",
            Instruction::Identity(IdentityInstruction::RegisterOfficial {
                key: fresh.clone(),
                agency: "finance".into(),
                name: "New Official".into(),
                roles: vec!["clerk".into()],
            }),
        ),
        (
            "identity.register_citizen",
            Instruction::Identity(IdentityInstruction::RegisterCitizen { key: fresh.clone() }),
        ),
        (
            "identity.set_roles",
            Instruction::Identity(IdentityInstruction::SetRoles {
                account: world.key("finance-target").public_key().account_id(),
                roles: vec!["clerk".into(), "notary".into()],
            }),
        ),
        (
            "identity.deactivate",
            Instruction::Identity(IdentityInstruction::Deactivate {
                account: world.key("finance-target").public_key().account_id(),
                reason: "left the service".into(),
            }),
        ),
        (
            "identity.rotate_key",
            Instruction::Identity(IdentityInstruction::RotateKey {
                new_key: fresh.clone(),
            }),
        ),
        ("identity.set_keys", {
            // Filled in per actor: keep its own key, add a fresh one, 1 of 2.
            Instruction::Identity(IdentityInstruction::SetKeys {
                keys: vec![fresh.clone()],
                threshold: 1,
            })
        }),
        ("notary.anchor", anchor(&Hash32::sha256(b"a new document"))),
        (
            "notary.revoke",
            Instruction::Notary(NotaryInstruction::Revoke {
                document: doc(),
                reason: "issued in error".into(),
            }),
        ),
        (
            "governance.propose",
            propose(GovernanceAction::SetThreshold { threshold: 1 }),
        ),
        ("governance.approve", approve(1)),
    ]
}

/// What the default policies allow: `Ok(())`, a handler failure code after authorization, or
/// a denial naming the permit policy that would have allowed it.
fn expected(actor: &str, action: &str) -> Result<(), &'static str> {
    let (agency, role) = actor.split_once('-').unwrap_or(("", actor));
    let official = agency == "finance" || agency == "land";
    let admin = official && role == "admin";
    let finance_admin = actor == "finance-admin";
    let allowed = match action {
        "identity.register_official" => finance_admin,
        "identity.register_citizen" => admin || (official && role == "registrar"),
        "identity.set_roles" | "identity.deactivate" => finance_admin,
        "identity.rotate_key" | "identity.set_keys" => true,
        "notary.anchor" => admin || (official && role == "notary"),
        "notary.revoke" => actor == "finance-admin" || actor == "finance-notary",
        "governance.propose" => admin,
        "governance.approve" => {
            if actor == "land-admin" {
                // Authorized, but land proposed it and has already approved.
                return Err("already_approved");
            }
            admin
        }
        other => panic!("no expectation for {other}"),
    };
    if allowed {
        Ok(())
    } else {
        Err("not_authorized")
    }
}

#[test]
fn authorization_matrix_over_roles_and_instructions() {
    let world = World::new();
    // Every actor but the two whose records are acted on (finance-target, citizen-b).
    let actors = &ACTORS[..9];
    let mut checked = 0;
    for &actor in actors {
        for (action, op) in instructions(&world) {
            let mut cell = world.clone();
            let op = match op {
                Instruction::Identity(IdentityInstruction::SetKeys { keys, threshold }) => {
                    let mut all = vec![cell.key(actor).public_key()];
                    all.extend(keys);
                    Instruction::Identity(IdentityInstruction::SetKeys {
                        keys: all,
                        threshold,
                    })
                }
                other => other,
            };
            let receipt = cell.send(actor, op);
            let want = expected(actor, action);
            match want {
                Ok(()) => assert!(
                    receipt.succeeded(),
                    "{actor} {action} should succeed: {receipt:?}"
                ),
                Err(code) => {
                    assert_eq!(
                        failed_code(&receipt),
                        Some(code),
                        "{actor} {action}: {receipt:?}"
                    );
                    if code == "not_authorized" {
                        let text = message(&receipt);
                        assert!(
                            text.starts_with(&format!(
                                "no policy permits {action} for account {}",
                                cell.id(actor)
                            )),
                            "{actor} {action}: {text}"
                        );
                        assert!(text.contains("it is permitted only by \""), "{text}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 90);
}

#[test]
fn denials_explain_for_whom_and_by_which_policy() {
    let mut world = World::new();
    // A forbid overrides the permit an admin has over its agency's officials.
    let self_grant = Instruction::Identity(IdentityInstruction::SetRoles {
        account: world.key("finance-admin").public_key().account_id(),
        roles: vec!["admin".into(), "notary".into()],
    });
    let receipt = world.send("finance-admin", self_grant);
    assert_eq!(failed_code(&receipt), Some("not_authorized"));
    let text = message(&receipt);
    assert!(
        text.starts_with(
            "policy \"no-self-role-change\" (nobody changes their own roles: another admin of the agency must) forbids identity.set_roles for account"
        ),
        "{text}"
    );
    assert!(
        text.contains("an official of finance with roles [admin]"),
        "{text}"
    );

    // A land official acting on finance's records: the cross-agency attempt is named.
    let receipt = world.send(
        "land-admin",
        Instruction::Identity(IdentityInstruction::Deactivate {
            account: world.key("finance-target").public_key().account_id(),
            reason: "not ours".into(),
        }),
    );
    let text = message(&receipt);
    assert!(
        text.contains("an official of land with roles [admin]"),
        "{text}"
    );
    assert!(
        text.contains("\"agency-admin-manages-own-officials\""),
        "{text}"
    );

    // A target that does not exist is reported as such, before any policy is asked.
    let receipt = world.send(
        "finance-admin",
        Instruction::Identity(IdentityInstruction::Deactivate {
            account: PrivateKey::from_test_seed(4242).public_key().account_id(),
            reason: "x".into(),
        }),
    );
    assert_eq!(failed_code(&receipt), Some("unknown_account"));
}

#[test]
fn citizens_cannot_act_for_other_citizens() {
    let mut world = World::new();
    // Signing as citizen-b with citizen's key: not even admitted to a block.
    let forged = world.signed("citizen-b", &["citizen"], anchor(&Hash32::sha256(b"c")));
    let built = world.chain.build(vec![forged.clone()]);
    assert!(built.included.is_empty());
    assert_eq!(built.rejected[0].1.code, "wrong_key");
    assert!(world.chain.block(vec![forged], Mode::Verify).is_err());
    // Acting on another citizen's account is denied by policy.
    for op in [
        Instruction::Identity(IdentityInstruction::Deactivate {
            account: world.key("citizen-b").public_key().account_id(),
            reason: "x".into(),
        }),
        Instruction::Identity(IdentityInstruction::SetRoles {
            account: world.key("citizen-b").public_key().account_id(),
            roles: vec!["admin".into()],
        }),
    ] {
        let receipt = world.send("citizen", op);
        assert_eq!(failed_code(&receipt), Some("not_authorized"));
        assert!(message(&receipt).contains("(a citizen)"), "{receipt:?}");
    }
    // A denied transaction still consumes its nonce: replaying it is refused outright.
    let tx = world.signed(
        "citizen",
        &["citizen"],
        Instruction::Identity(IdentityInstruction::Deactivate {
            account: world.key("citizen-b").public_key().account_id(),
            reason: "again".into(),
        }),
    );
    assert_eq!(
        failed_code(&world.chain.one(tx.clone())),
        Some("not_authorized")
    );
    let replay = world.chain.build(vec![tx]);
    assert_eq!(replay.rejected[0].1.code, "bad_nonce");
}

#[test]
fn multi_signature_accounts_need_their_threshold() {
    let mut world = World::new();
    for (name, seed) in [("k2", 601), ("k3", 602)] {
        world.keys.insert(name, PrivateKey::from_test_seed(seed));
    }
    let keys = vec![
        world.key("finance-notary").public_key(),
        world.key("k2").public_key(),
        world.key("k3").public_key(),
    ];
    let set = Instruction::Identity(IdentityInstruction::SetKeys {
        keys: keys.clone(),
        threshold: 2,
    });
    let receipt = world.send("finance-notary", set);
    assert!(receipt.succeeded(), "{receipt:?}");
    assert!(matches!(
        &receipt.events[0],
        Event::Identity(civitas_core::event::IdentityEvent::KeysChanged { threshold: 2, keys: k, .. }) if *k == keys
    ));
    // One key is no longer enough.
    let lone = world.signed(
        "finance-notary",
        &["finance-notary"],
        anchor(&Hash32::sha256(b"1")),
    );
    let built = world.chain.build(vec![lone]);
    assert_eq!(built.rejected[0].1.code, "wrong_key");
    assert!(
        built.rejected[0]
            .1
            .message
            .ends_with("needs 2 of its 3 keys to sign; 1 did")
    );
    // The nonce was not consumed by the rejected transaction.
    *world.nonces.get_mut("finance-notary").unwrap() -= 1;
    // Any two keys sign.
    let pair = world.signed(
        "finance-notary",
        &["k2", "k3"],
        anchor(&Hash32::sha256(b"1")),
    );
    assert!(world.chain.one(pair).succeeded());
    // A multi-key account replaces keys with set_keys, not rotate_key.
    let rotate = world.signed(
        "finance-notary",
        &["finance-notary", "k3"],
        Instruction::Identity(IdentityInstruction::RotateKey {
            new_key: PrivateKey::from_test_seed(603).public_key(),
        }),
    );
    assert_eq!(
        failed_code(&world.chain.one(rotate)),
        Some("multi_key_account")
    );
    // Its keys cannot be registered to anyone else.
    let steal = Instruction::Identity(IdentityInstruction::RegisterCitizen {
        key: world.key("k2").public_key(),
    });
    assert_eq!(
        failed_code(&world.send("finance-registrar", steal)),
        Some("key_in_use")
    );
    // Back to a single key (signed by two of the current ones); the dropped keys stop working.
    let back = world.signed(
        "finance-notary",
        &["k2", "k3"],
        Instruction::Identity(IdentityInstruction::SetKeys {
            keys: vec![world.key("k3").public_key()],
            threshold: 1,
        }),
    );
    assert!(world.chain.one(back).succeeded());
    let old = world.signed("finance-notary", &["k2"], anchor(&Hash32::sha256(b"2")));
    assert_eq!(world.chain.build(vec![old]).rejected[0].1.code, "wrong_key");
    *world.nonces.get_mut("finance-notary").unwrap() -= 1;
    let new = world.signed("finance-notary", &["k3"], anchor(&Hash32::sha256(b"2")));
    assert!(world.chain.one(new).succeeded());
}

#[test]
fn rotated_keys_keep_roles_and_old_keys_cannot_cosign() {
    let mut world = World::new();
    world.keys.insert("new", PrivateKey::from_test_seed(610));
    let rotate = Instruction::Identity(IdentityInstruction::RotateKey {
        new_key: world.key("new").public_key(),
    });
    assert!(world.send("finance-registrar", rotate).succeeded());
    // The new key acts with the account's roles.
    let register = world.signed(
        "finance-registrar",
        &["new"],
        Instruction::Identity(IdentityInstruction::RegisterCitizen {
            key: PrivateKey::from_test_seed(611).public_key(),
        }),
    );
    assert!(world.chain.one(register).succeeded());
    // The old key no longer maps to any account: it can neither sign for the account nor
    // count as anyone's co-signature.
    let index: Option<civitas_core::crypto::AccountId> = read(
        &world.chain,
        &civitas_modules::identity::state::key_index_key(
            &PrivateKey::from_test_seed(502).public_key(),
        ),
    );
    assert!(index.is_none());
    let old = world.signed(
        "finance-registrar",
        &["finance-registrar"],
        anchor(&Hash32::sha256(b"old")),
    );
    assert_eq!(world.chain.build(vec![old]).rejected[0].1.code, "wrong_key");
}

const TWO_NOTARIES: &str = r#"
@id("two-notaries-revoke")
@description("revoking a document takes two notaries of the issuing agency")
forbid (principal, action == Action::"notary.revoke", resource)
unless { context.signers.hasTag("notary") && context.signers.getTag("notary") >= 2 };
"#;

#[test]
fn governance_changes_a_policy_from_the_next_block() {
    let mut world = World::new();
    world
        .keys
        .insert("notary-2", PrivateKey::from_test_seed(620));
    let register = Instruction::Identity(IdentityInstruction::RegisterOfficial {
        key: world.key("notary-2").public_key(),
        agency: "finance".into(),
        name: "Second Notary".into(),
        roles: vec!["notary".into()],
    });
    assert!(world.send("finance-admin", register).succeeded());
    let docs: Vec<Hash32> = (0..4u8).map(|i| Hash32::sha256(&[i])).collect();
    for d in &docs {
        assert!(world.send("finance-notary", anchor(d)).succeeded());
    }
    assert_eq!(world.head().version, 1);

    // Proposal 2 (1 is the open threshold change): finance proposes, land approves.
    let change = propose(GovernanceAction::SetPolicy {
        policy: TWO_NOTARIES.into(),
    });
    let receipt = world.send("finance-admin", change);
    assert!(receipt.succeeded(), "{receipt:?}");
    let approval = world.signed("land-admin", &["land-admin"], approve(2));
    let revoke = |d: &Hash32| {
        Instruction::Notary(NotaryInstruction::Revoke {
            document: *d,
            reason: "superseded".into(),
        })
    };
    // In the approving block, after the approval, the old policy still applies.
    let same_block = world.signed("finance-notary", &["finance-notary"], revoke(&docs[0]));
    let approving_height = world.chain.height + 1;
    let receipts = world
        .chain
        .block(vec![approval, same_block], Mode::Verify)
        .unwrap();
    assert!(receipts[0].succeeded(), "{:?}", receipts[0]);
    assert!(receipts[0].events.iter().any(|e| matches!(
        e,
        Event::Governance(civitas_core::event::GovernanceEvent::PoliciesScheduled { proposal: 2, version: 2, effective_height })
            if *effective_height == approving_height + 1
    )));
    assert!(receipts[1].succeeded(), "{:?}", receipts[1]);
    let head = world.head();
    assert_eq!(
        (head.version, head.effective_height),
        (2, approving_height + 1)
    );
    let record: PolicySetRecord = read(&world.chain, &authz::version_key(2)).unwrap();
    assert!(
        record
            .policies
            .iter()
            .any(|p| p.id == "two-notaries-revoke")
    );
    assert_eq!(record.proposal, 2);

    // From the next block: one notary alone is forbidden, and told why.
    let receipt = world.send("finance-notary", revoke(&docs[1]));
    assert_eq!(failed_code(&receipt), Some("not_authorized"));
    assert!(
        message(&receipt).starts_with(
            "policy \"two-notaries-revoke\" (revoking a document takes two notaries of the issuing agency) forbids notary.revoke"
        ),
        "{}",
        message(&receipt)
    );
    // A notary of another agency co-signing does not count for finance.
    let cross = world.signed(
        "finance-notary",
        &["finance-notary", "land-notary"],
        revoke(&docs[2]),
    );
    assert_eq!(failed_code(&world.chain.one(cross)), Some("not_authorized"));
    // A second finance notary co-signing satisfies it.
    let both = world.signed(
        "finance-notary",
        &["finance-notary", "notary-2"],
        revoke(&docs[2]),
    );
    let receipt = world.chain.one(both);
    assert!(receipt.succeeded(), "{receipt:?}");

    // Removing the policy restores the default from the block after approval.
    let remove = propose(GovernanceAction::RemovePolicy {
        id: "two-notaries-revoke".into(),
    });
    assert!(world.send("land-admin", remove).succeeded());
    assert!(world.send("finance-admin", approve(3)).succeeded());
    assert_eq!(world.head().version, 3);
    assert!(world.send("finance-notary", revoke(&docs[3])).succeeded());
}

#[test]
fn invalid_policy_changes_are_refused_when_proposed() {
    let mut world = World::new();
    let cases = [
        ("permit (principal", "invalid_policy"),
        ("permit (principal, action, resource);", "invalid_policy"),
        (
            "@id(\"salary\") permit (principal, action == Action::\"notary.anchor\", resource) when { principal.salary > 1 };",
            "invalid_policy",
        ),
        (
            "@id(\"ghost\") permit (principal, action == Action::\"land.transfer\", resource);",
            "invalid_policy",
        ),
    ];
    for (policy, code) in cases {
        let receipt = world.send(
            "finance-admin",
            propose(GovernanceAction::SetPolicy {
                policy: policy.into(),
            }),
        );
        assert_eq!(failed_code(&receipt), Some(code), "{policy}: {receipt:?}");
    }
    let receipt = world.send(
        "finance-admin",
        propose(GovernanceAction::RemovePolicy {
            id: "no-such-policy".into(),
        }),
    );
    assert_eq!(failed_code(&receipt), Some("unknown_policy"));
    assert_eq!(world.head().version, 1);
}

/// Asks the policies whether `account`, signing with `key`, may read finance-target's pending
/// transactions.
fn read_target_pending(
    world: &World,
    account: &civitas_core::crypto::AccountId,
    key: &civitas_core::crypto::PublicKey,
) -> Result<(), civitas_exec::Failure> {
    use civitas_exec::Overlay;
    use civitas_modules::authz::{Reader, Resource};
    use civitas_modules::identity::state::load_account;
    let mut state = Overlay::new(&world.chain.state);
    let target_id = world.key("finance-target").public_key().account_id();
    let target = futures::executor::block_on(load_account(&mut state, &target_id))
        .unwrap()
        .unwrap();
    let keys = [key];
    let reader = Reader {
        account,
        signing_keys: &keys,
    };
    futures::executor::block_on(authz::authorize_read(
        &mut state,
        &world.chain.env(),
        &reader,
        "ledger.read_pending",
        Resource::Account(target),
    ))
    .unwrap()
}

#[test]
fn reads_of_non_public_records_go_through_the_same_policies() {
    let world = World::new();
    for actor in ACTORS {
        let key = world.key(actor).public_key();
        let decision = read_target_pending(&world, &key.account_id(), &key);
        let allowed = matches!(actor, "finance-admin" | "finance-target");
        match decision {
            Ok(()) => assert!(allowed, "{actor} must not read finance-target's pending"),
            Err(failure) => {
                assert!(!allowed, "{actor}: {failure:?}");
                assert_eq!(failure.code, "not_authorized");
                assert!(
                    failure
                        .message()
                        .starts_with("no policy permits ledger.read_pending for account"),
                    "{}",
                    failure.message()
                );
            }
        }
    }
    // A key that is not the account's proves nothing.
    let target = world.key("finance-target").public_key().account_id();
    let stranger = PrivateKey::from_test_seed(4321).public_key();
    let decision = read_target_pending(&world, &target, &stranger);
    assert_eq!(decision.unwrap_err().code, "wrong_key");
}
