//! What authorization costs: one Cedar decision, the whole authorization step of a transaction
//! (co-signers, resource, cached policy set, decision), compiling a policy set (a cache miss),
//! and, for comparison, executing a block of 1,000 transactions of each module end to end.
//!
//! Run: `cargo bench -p civitas-modules --bench authz`

use civitas_core::crypto::PrivateKey;
use civitas_core::genesis::{GENESIS_VERSION, Genesis, GenesisAgency};
use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    GovernanceAction, GovernanceInstruction, IdentityInstruction, Instruction, NotaryInstruction,
    TreasuryInstruction,
};
use civitas_core::money::{AMOUNT_MAX, Currency, Money};
use civitas_core::time::TimestampMs;
use civitas_core::treasury::Direction;
use civitas_core::tx::{SignedTx, TxBody};
use civitas_exec::overlay::MemoryState;
use civitas_exec::{BlockEnv, Mode, NoneVerified, Overlay, TxContext, execute_block};
use civitas_modules::CivitasModules;
use civitas_modules::authz;
use civitas_modules::identity::state::load_account;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use std::hint::black_box;
use std::sync::Arc;

const BLOCK_TXS: u64 = 1_000;

/// Builds a block's worth of transactions of one kind.
type Workload = fn(&Bench) -> Vec<SignedTx>;

struct Bench {
    state: MemoryState,
    genesis: Arc<Genesis>,
    height: u64,
    notary: PrivateKey,
}

impl Bench {
    fn env(&self) -> BlockEnv {
        BlockEnv {
            height: self.height + 1,
            timestamp: TimestampMs(1_000 + self.height * 1_000),
            parent: Hash32::sha256(&self.height.to_be_bytes()),
            genesis: self.genesis.clone(),
            protocol: civitas_core::protocol::PROTOCOLS.0[0],
        }
    }

    fn apply(&mut self, txs: Vec<SignedTx>) {
        let result = block_on(execute_block(
            &self.env(),
            txs,
            &self.state,
            &CivitasModules,
            Mode::Verify,
            &NoneVerified,
        ))
        .unwrap();
        assert!(
            result.receipts.iter().all(|r| r.succeeded()),
            "bench setup failed: {:?}",
            result.receipts
        );
        self.state.apply(&result.writes);
        self.height += 1;
    }

    fn new() -> Self {
        let agencies = ["finance", "land", "health", "interior"]
            .iter()
            .enumerate()
            .map(|(i, id)| GenesisAgency {
                id: id.to_string(),
                name: format!("Ministry of {id}"),
                validator_key: PrivateKey::from_test_seed(i as u64).public_key(),
                admin_keys: vec![PrivateKey::from_test_seed(100 + i as u64).public_key()],
                p2p_address: "127.0.0.1:1".into(),
            })
            .collect();
        let genesis = Genesis {
            version: GENESIS_VERSION,
            chain_id: "bench".into(),
            genesis_time: TimestampMs(0),
            agencies,
            epoch_length: 1_000_000,
            governance_threshold: 3,
            authorization: authz::default_authorization(),
            protocol: 1,
        };
        let mut bench = Self {
            state: MemoryState::default(),
            genesis: Arc::new(genesis),
            height: 0,
            notary: PrivateKey::from_test_seed(500),
        };
        bench.apply(vec![]);
        let admin = PrivateKey::from_test_seed(100);
        let register = tx(
            &admin,
            0,
            Instruction::Identity(IdentityInstruction::RegisterOfficial {
                key: bench.notary.public_key(),
                agency: "finance".into(),
                name: "Notary".into(),
                roles: vec!["notary".into()],
            }),
        );
        bench.apply(vec![register]);
        // Public money: a budget official, a treasurer and a vendor of finance, a year, a large
        // appropriation, allotted, and one commitment that the payment workload pays against.
        let budget = PrivateKey::from_test_seed(600);
        let treasurer = PrivateKey::from_test_seed(601);
        let vendor = PrivateKey::from_test_seed(602);
        bench.apply(vec![
            tx(&admin, 1, official(&budget, "budget")),
            tx(&admin, 2, official(&treasurer, "treasurer")),
            tx(
                &admin,
                3,
                Instruction::Identity(IdentityInstruction::RegisterCitizen {
                    key: vendor.public_key(),
                }),
            ),
        ]);
        let eur = |amount| Money::new(amount, Currency::parse("EUR").unwrap());
        let steps = [
            (
                &budget,
                0,
                TreasuryInstruction::OpenYear {
                    year: 2026,
                    currency: Currency::parse("EUR").unwrap(),
                    procurement_threshold: 10_000_000,
                },
            ),
            (
                &treasurer,
                0,
                TreasuryInstruction::RegisterVendor {
                    account: vendor.public_key().account_id(),
                    name: "Vendor".into(),
                    registration: "RC-1".into(),
                },
            ),
            (
                &budget,
                1,
                TreasuryInstruction::Appropriate {
                    year: 2026,
                    agency: "finance".into(),
                    programme: "administration".into(),
                    classification: "2111".into(),
                    purpose: "Operations".into(),
                    amount: eur(AMOUNT_MAX),
                },
            ),
            (
                &budget,
                2,
                TreasuryInstruction::Allot {
                    appropriation: 1,
                    direction: Direction::Increase,
                    amount: eur(AMOUNT_MAX),
                    reason: "all".into(),
                },
            ),
            (
                &treasurer,
                1,
                TreasuryInstruction::Commit {
                    appropriation: 1,
                    vendor: vendor.public_key().account_id(),
                    amount: eur(AMOUNT_MAX),
                    description: "Services".into(),
                },
            ),
        ];
        for (key, nonce, op) in steps {
            bench.apply(vec![tx(key, nonce, Instruction::Treasury(op))]);
        }
        bench
    }

    /// A treasurer paying against one commitment (entry, six totals, appropriation,
    /// commitment and payment records per payment).
    fn payments(&self) -> Vec<SignedTx> {
        let treasurer = PrivateKey::from_test_seed(601);
        (0..BLOCK_TXS)
            .map(|i| {
                tx(
                    &treasurer,
                    2 + i,
                    Instruction::Treasury(TreasuryInstruction::Pay {
                        commitment: 1,
                        amount: Money::new(100 + i, Currency::parse("EUR").unwrap()),
                        reference: format!("INV-{i}"),
                    }),
                )
            })
            .collect()
    }

    fn anchors(&self) -> Vec<SignedTx> {
        (0..BLOCK_TXS)
            .map(|i| tx(&self.notary, i, anchor(i)))
            .collect()
    }

    /// A registrar (the finance admin) registering citizens.
    fn registrations(&self) -> Vec<SignedTx> {
        let admin = PrivateKey::from_test_seed(100);
        (0..BLOCK_TXS)
            .map(|i| {
                let citizen = PrivateKey::from_test_seed(10_000 + i).public_key();
                tx(
                    &admin,
                    1 + i,
                    Instruction::Identity(IdentityInstruction::RegisterCitizen { key: citizen }),
                )
            })
            .collect()
    }

    /// An agency admin opening proposals (each stays open: one agency of the three needed).
    fn proposals(&self) -> Vec<SignedTx> {
        let admin = PrivateKey::from_test_seed(101);
        (0..BLOCK_TXS)
            .map(|i| {
                tx(
                    &admin,
                    i,
                    Instruction::Governance(GovernanceInstruction::Propose {
                        action: GovernanceAction::SetThreshold { threshold: 2 },
                        reason: format!("proposal {i}"),
                    }),
                )
            })
            .collect()
    }
}

fn official(key: &PrivateKey, role: &str) -> Instruction {
    Instruction::Identity(IdentityInstruction::RegisterOfficial {
        key: key.public_key(),
        agency: "finance".into(),
        name: role.into(),
        roles: vec![role.into()],
    })
}

fn anchor(i: u64) -> Instruction {
    Instruction::Notary(NotaryInstruction::Anchor {
        document: Hash32::sha256(&i.to_be_bytes()),
        title: "Deed".into(),
        metadata: vec![],
    })
}

fn tx(key: &PrivateKey, nonce: u64, op: Instruction) -> SignedTx {
    TxBody {
        chain_id: "bench".into(),
        signer: key.public_key().account_id(),
        nonce,
        expiry: TimestampMs(u64::MAX),
        instructions: vec![op],
        memo: String::new(),
    }
    .into_signed(&[key])
}

fn benches(c: &mut Criterion) {
    let bench = Bench::new();
    let env = bench.env();
    let signed = tx(&bench.notary, 0, anchor(u64::MAX));
    let instruction = signed.body.instructions[0].clone();
    let ctx = TxContext {
        env: &env,
        tx_hash: signed.hash(),
        signer: signed.body.signer,
        signing_keys: signed.signatures.iter().map(|s| &s.key).collect(),
    };

    let mut group = c.benchmark_group("authorization");
    group.throughput(Throughput::Elements(1));
    // One decision by Cedar: entities, request, evaluation.
    group.bench_function("decide notary.anchor", |b| {
        let mut overlay = Overlay::new(&bench.state);
        let signer = block_on(load_account(&mut overlay, &ctx.signer))
            .unwrap()
            .unwrap();
        let question = block_on(authz::question(
            &ctx,
            &signer,
            &[],
            &instruction,
            &mut overlay,
        ))
        .unwrap()
        .unwrap();
        let compiled = block_on(authz::load_active(&mut overlay)).unwrap();
        b.iter(|| black_box(authz::decide(&compiled, &env, &question)).unwrap());
    });
    // The whole step a transaction pays: co-signers, resource, policy set (cached), decision.
    group.bench_function("authorization step notary.anchor", |b| {
        b.iter(|| {
            let mut overlay = Overlay::new(&bench.state);
            let signer = block_on(load_account(&mut overlay, &ctx.signer))
                .unwrap()
                .unwrap();
            let cosigners =
                block_on(authz::cosigners(&ctx.signing_keys, &signer, &mut overlay)).unwrap();
            let question = block_on(authz::question(
                &ctx,
                &signer,
                &cosigners,
                &instruction,
                &mut overlay,
            ))
            .unwrap()
            .unwrap();
            let compiled = block_on(authz::load_active(&mut overlay)).unwrap();
            black_box(authz::decide(&compiled, &env, &question)).unwrap();
        });
    });
    // A cache miss: parse and validate the default set against the schema.
    group.bench_function("compile default policy set", |b| {
        let entries = authz::parse_policies(&authz::default_policies()).unwrap();
        let schema = authz::default_schema();
        b.iter(|| black_box(authz::compile(&schema, &entries).unwrap()));
    });
    group.finish();

    let mut group = c.benchmark_group("execution");
    group.throughput(Throughput::Elements(BLOCK_TXS));
    group.sample_size(10);
    // Blocks of 1,000 transactions of one module each, signatures already checked at admission
    // (as in a validator: each signature is verified once), authorization included.
    struct All;
    impl civitas_exec::VerifiedTxs for All {
        fn is_verified(&self, _: &SignedTx) -> bool {
            true
        }
    }
    let workloads: [(&str, Workload); 4] = [
        ("block of 1000 notary.anchor", Bench::anchors),
        (
            "block of 1000 identity.register_citizen",
            Bench::registrations,
        ),
        ("block of 1000 governance.propose", Bench::proposals),
        ("block of 1000 treasury.pay", Bench::payments),
    ];
    for (name, workload) in workloads {
        group.bench_function(name, |b| {
            b.iter_batched(
                || workload(&bench),
                |txs| {
                    let result = block_on(execute_block(
                        &bench.env(),
                        txs,
                        &bench.state,
                        &CivitasModules,
                        Mode::Verify,
                        &All,
                    ))
                    .unwrap();
                    assert!(result.receipts.iter().all(|r| r.succeeded()));
                    result
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(authorization, benches);
criterion_main!(authorization);
