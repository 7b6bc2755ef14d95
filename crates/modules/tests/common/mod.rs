//! A chain executed in memory, block by block, for the modules' integration tests.
#![allow(dead_code)]

use civitas_core::crypto::PrivateKey;
use civitas_core::genesis::{Genesis, GenesisAgency};
use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    GovernanceAction, GovernanceInstruction, IdentityInstruction, Instruction, NotaryInstruction,
};
use civitas_core::receipt::{Receipt, TxOutcome};
use civitas_core::time::TimestampMs;
use civitas_core::tx::{SignedTx, TxBody};
use civitas_exec::overlay::MemoryState;
use civitas_exec::{BlockEnv, BlockError, BlockResult, Mode, NoneVerified, execute_block};
use civitas_modules::CivitasModules;
use civitas_modules::notary::state::{Document, document_key};
use futures::executor::block_on;
use std::sync::Arc;

#[derive(Clone)]
pub struct Chain {
    pub state: MemoryState,
    pub height: u64,
    pub genesis: Arc<Genesis>,
    /// Milliseconds added to every later block's time (blocks are otherwise 1 s apart).
    pub skip_ms: u64,
    /// The protocol blocks are made under.
    pub protocol: civitas_core::protocol::Protocol,
}

pub fn agency(id: &str, seed: u64) -> GenesisAgency {
    GenesisAgency {
        id: id.into(),
        name: format!("Ministry of {id}"),
        validator_key: PrivateKey::from_test_seed(seed).public_key(),
        admin_keys: vec![PrivateKey::from_test_seed(seed + 100).public_key()],
        p2p_address: "127.0.0.1:1".into(),
    }
}

impl Chain {
    pub fn new() -> Self {
        Self::starting_at(1)
    }

    /// A chain whose genesis starts at protocol version `protocol` (its features are version
    /// 1's).
    pub fn starting_at(protocol: u16) -> Self {
        let genesis = Genesis {
            version: civitas_core::genesis::genesis_version(protocol),
            protocol,
            chain_id: "test".into(),
            genesis_time: TimestampMs(1_000),
            agencies: vec![agency("finance", 1), agency("land", 2), agency("health", 3)],
            epoch_length: 10,
            governance_threshold: 2,
            authorization: civitas_modules::authz::default_authorization(),
        };
        let mut chain = Self {
            state: MemoryState::default(),
            height: 0,
            genesis: Arc::new(genesis),
            skip_ms: 0,
            protocol: civitas_core::protocol::Protocol {
                version: protocol,
                ..civitas_core::protocol::PROTOCOLS.0[0]
            },
        };
        chain.block(vec![], Mode::Verify).unwrap();
        chain
    }

    pub fn env(&self) -> BlockEnv {
        BlockEnv {
            height: self.height + 1,
            timestamp: TimestampMs(1_000 + self.height * 1_000 + self.skip_ms),
            parent: Hash32::sha256(&self.height.to_be_bytes()),
            genesis: self.genesis.clone(),
            protocol: self.protocol,
        }
    }

    pub fn block(&mut self, txs: Vec<SignedTx>, mode: Mode) -> Result<Vec<Receipt>, BlockError> {
        let env = self.env();
        let result = block_on(execute_block(
            &env,
            txs,
            &self.state,
            &CivitasModules,
            mode,
            &NoneVerified,
        ))?;
        self.state.apply(&result.writes);
        self.height += 1;
        Ok(result.receipts)
    }

    /// Builds a block as a proposer would (leaving out what fails authentication), without
    /// applying it.
    pub fn build(&self, txs: Vec<SignedTx>) -> BlockResult {
        block_on(execute_block(
            &self.env(),
            txs,
            &self.state,
            &CivitasModules,
            Mode::Build,
            &NoneVerified,
        ))
        .unwrap()
    }

    pub fn one(&mut self, tx: SignedTx) -> Receipt {
        self.block(vec![tx], Mode::Verify).unwrap().remove(0)
    }

    pub fn document(&self, hash: &Hash32) -> Option<Document> {
        let key = document_key(hash).hashed();
        self.state
            .0
            .get(&key)
            .map(|b| civitas_core::codec::from_slice(b, &()).unwrap())
    }
}

pub fn tx(key: &PrivateKey, account: Option<&PrivateKey>, nonce: u64, op: Instruction) -> SignedTx {
    TxBody {
        chain_id: "test".into(),
        signer: account.unwrap_or(key).public_key().account_id(),
        nonce,
        expiry: TimestampMs(u64::MAX),
        instructions: vec![op],
        memo: String::new(),
    }
    .into_signed(&[key])
}

pub fn failed_code(receipt: &Receipt) -> Option<&str> {
    match &receipt.outcome {
        TxOutcome::Failed { code, .. } => Some(code),
        TxOutcome::Success => None,
    }
}

pub fn register_notary(
    chain: &mut Chain,
    admin: &PrivateKey,
    nonce: u64,
    official: &PrivateKey,
    agency: &str,
) -> Receipt {
    chain.one(tx(
        admin,
        None,
        nonce,
        Instruction::Identity(IdentityInstruction::RegisterOfficial {
            key: official.public_key(),
            agency: agency.into(),
            name: "A. Notary".into(),
            roles: vec!["notary".into()],
        }),
    ))
}

pub fn anchor(doc: &Hash32) -> Instruction {
    Instruction::Notary(NotaryInstruction::Anchor {
        document: *doc,
        title: "Deed".into(),
        metadata: vec![],
    })
}

pub fn read<T: commonware_codec::Decode<Cfg = ()>>(
    chain: &Chain,
    key: &civitas_core::bundle::StateKey,
) -> Option<T> {
    chain
        .state
        .0
        .get(&key.hashed())
        .map(|b| civitas_core::codec::from_slice(b, &()).unwrap())
}

pub fn propose(action: GovernanceAction) -> Instruction {
    Instruction::Governance(GovernanceInstruction::Propose {
        action,
        reason: "test".into(),
    })
}

pub fn approve(proposal: u64) -> Instruction {
    Instruction::Governance(GovernanceInstruction::Approve { proposal })
}
