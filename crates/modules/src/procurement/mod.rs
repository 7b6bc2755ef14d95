//! Procurement: plans, tenders with notarised documents, sealed bids (commit, then open),
//! evaluation by a committee, award with a standstill for complaints, contracts whose accepted
//! milestones commit and pay from the treasury, integrity signals, and OCDS 1.1.

pub mod handler;
pub mod ocds;
pub mod signals;
pub mod state;
