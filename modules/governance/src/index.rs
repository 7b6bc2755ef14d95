//! Governance's part of the read model: proposals by status, agency and action.

use civitas_core::event::{Event, GovernanceEvent};
use civitas_kit::index::query::{
    AnyRow, Keyed, Listing, Order, Page, Snapshot, int, optional_int, text,
};
use civitas_kit::index::{Context, IndexError, Rows};
use serde::Serialize;

/// Governance's tables.
pub const TABLES: &[&str] = &["governance_proposals"];

/// Their migrations.
pub const MIGRATIONS: &[&str] = &[
    // 1: proposals as they stand.
    "CREATE TABLE governance_proposals (
        proposal BIGINT PRIMARY KEY,
        action TEXT NOT NULL,
        body TEXT NOT NULL,
        agency TEXT NOT NULL,
        proposer TEXT NOT NULL,
        status TEXT NOT NULL,
        approvals BIGINT NOT NULL,
        threshold BIGINT,
        opened_height BIGINT NOT NULL,
        executed_height BIGINT,
        effective_epoch BIGINT
    );
    CREATE INDEX governance_proposals_by_status ON governance_proposals (status, proposal);
    CREATE INDEX governance_proposals_by_agency ON governance_proposals (agency, proposal);",
];

/// What a governance event writes.
pub fn project(ctx: &Context<'_>, event: &Event, rows: &mut Rows) {
    let Event::Governance(event) = event else {
        return;
    };
    match event {
        GovernanceEvent::ProposalOpened {
            proposal,
            action,
            by,
            agency,
        } => {
            let body = serde_json::to_value(action).unwrap_or_default();
            let kind = body["action"].as_str().unwrap_or_default().to_string();
            rows.push(
                "INSERT INTO governance_proposals (proposal, action, body, agency, proposer, \
                 status, approvals, opened_height) VALUES ($1, $2, $3, $4, $5, 'open', 1, $6) \
                 ON CONFLICT (proposal) DO NOTHING",
                [
                    (*proposal).into(),
                    kind.into(),
                    body.to_string().into(),
                    agency.into(),
                    by.into(),
                    ctx.height.into(),
                ],
            );
        }
        GovernanceEvent::ProposalApproved {
            proposal,
            approvals,
            threshold,
            ..
        } => rows.push(
            "UPDATE governance_proposals SET approvals = $1, threshold = $2 WHERE proposal = $3",
            [(*approvals).into(), (*threshold).into(), (*proposal).into()],
        ),
        GovernanceEvent::ProposalExecuted {
            proposal,
            effective_epoch,
            ..
        } => rows.push(
            "UPDATE governance_proposals SET status = 'executed', executed_height = $1, \
             effective_epoch = $2 WHERE proposal = $3",
            [
                ctx.height.into(),
                (*effective_epoch).into(),
                (*proposal).into(),
            ],
        ),
        GovernanceEvent::PoliciesScheduled { .. } => {}
    }
}

/// A proposal in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProposalItem {
    /// Its number.
    pub id: u64,
    /// What it does (`add_validator`, `set_policy`, …).
    pub action: String,
    /// The action with its fields.
    #[schema(value_type = civitas_core::governance::GovernanceAction)]
    pub details: serde_json::Value,
    /// The agency that proposed it.
    pub agency: String,
    /// The official who proposed it.
    pub proposer: String,
    /// `open` or `executed`.
    pub status: String,
    /// Agencies in force that approved it, as last counted.
    pub approvals: u64,
    /// The approvals it needed, as of its last approval.
    pub threshold: Option<u64>,
    /// The block that opened it.
    pub opened_height: u64,
    /// The block that executed it.
    pub executed_height: Option<u64>,
    /// The epoch its change takes effect in.
    pub effective_epoch: Option<u64>,
    /// The proposal's record, with its proof.
    pub link: String,
}

impl Keyed for ProposalItem {
    fn read(row: &AnyRow) -> Result<Self, IndexError> {
        let id = int(row, "proposal")?;
        let body = text(row, "body")?;
        Ok(Self {
            id,
            action: text(row, "action")?,
            details: serde_json::from_str(&body)
                .map_err(|e| IndexError::Database(format!("a proposal's action: {e}")))?,
            agency: text(row, "agency")?,
            proposer: text(row, "proposer")?,
            status: text(row, "status")?,
            approvals: int(row, "approvals")?,
            threshold: optional_int(row, "threshold")?,
            opened_height: int(row, "opened_height")?,
            executed_height: optional_int(row, "executed_height")?,
            effective_epoch: optional_int(row, "effective_epoch")?,
            link: format!("/v1/governance/proposals/{id}"),
        })
    }

    fn key(&self) -> Vec<u64> {
        vec![self.id]
    }
}

/// Which proposals to list.
#[derive(Default)]
pub struct ProposalFilter {
    /// `open` or `executed`.
    pub status: Option<String>,
    /// Proposed by this agency.
    pub agency: Option<String>,
    /// Of this action.
    pub action: Option<String>,
}

/// A page of proposals, by number.
pub async fn proposals(
    snapshot: &mut Snapshot,
    filter: &ProposalFilter,
    order: Order,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<ProposalItem>, IndexError> {
    let mut listing = Listing {
        from: "governance_proposals",
        filter: "1 = 1".into(),
        values: Vec::new(),
        columns: "proposal, action, body, agency, proposer, status, approvals, threshold, \
                  opened_height, executed_height, effective_epoch",
        key: &["proposal"],
    };
    if let Some(status) = &filter.status {
        listing.and("status = {}", status.into());
    }
    if let Some(agency) = &filter.agency {
        listing.and("agency = {}", agency.into());
    }
    if let Some(action) = &filter.action {
        listing.and("action = {}", action.into());
    }
    snapshot.page(&listing, order, cursor, limit).await
}
