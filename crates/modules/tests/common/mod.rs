//! The in-memory chain of `civitas_modules::testing`, and helpers of the modules' tests.
#![allow(dead_code)]

// Each test file uses some of them.
#[allow(unused_imports)]
pub use civitas_modules::testing::{Chain, agency, failed_code, tx};

use civitas_core::crypto::PrivateKey;
use civitas_core::hash::Hash32;
use civitas_core::instruction::{
    GovernanceAction, GovernanceInstruction, IdentityInstruction, Instruction, NotaryInstruction,
};
use civitas_core::receipt::Receipt;
use civitas_modules::notary::state::{Document, document_key};

/// The notary's records of a test chain.
pub trait NotaryRecords {
    /// The anchored document `hash`, if any.
    fn document(&self, hash: &Hash32) -> Option<Document>;
}

impl NotaryRecords for Chain {
    fn document(&self, hash: &Hash32) -> Option<Document> {
        self.read(&document_key(hash))
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
    chain.read(key)
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
