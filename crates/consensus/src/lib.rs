//! Consensus for Civitas: the only crate that wires commonware's simplex BFT engine, marshal,
//! broadcast, resolvers and p2p.
//!
//! Validators agree on blocks with simplex (ed25519 certificates, 2f+1 of 3f+1); marshal delivers
//! finalized blocks in order; the ledger application ([`app`]) executes them on the
//! authenticated state through commonware's `glue::stateful` actor.

pub mod app;
pub mod block;
pub mod engine;
pub mod epochs;
pub mod gossip;
pub mod hello;
pub mod history;
pub mod mempool;
pub mod metrics;
pub mod node;
pub mod receipts;
pub mod service;
