//! Every bound the ledger enforces, as named constants with their units.
//!
//! Decoders check these before allocating. Changing a bound that shrinks what is accepted is a
//! consensus change: stored blocks must still decode.

/// Longest chain identifier, in bytes.
pub const CHAIN_ID_MAX_BYTES: usize = 64;
/// Most instructions in one transaction.
pub const TX_INSTRUCTIONS_MAX: usize = 16;
/// Most signatures on one transaction.
pub const TX_SIGNATURES_MAX: usize = 8;
/// Longest memo, in bytes.
pub const TX_MEMO_MAX_BYTES: usize = 256;
/// Largest encoded transaction, in bytes.
pub const TX_ENCODED_MAX_BYTES: usize = 16 * 1024;
/// Most transactions in one block.
pub const BLOCK_TXS_MAX: usize = 4_096;
/// Largest encoded block, in bytes (header plus transactions).
pub const BLOCK_ENCODED_MAX_BYTES: usize = 8 * 1024 * 1024;
/// Most a block's timestamp may exceed its parent's, in milliseconds. Timestamps also strictly
/// increase. After a stall longer than this, the ledger's clock catches up over several blocks.
pub const BLOCK_TIME_STEP_MAX_MS: u64 = 10 * 60 * 1000;

/// Longest identifier of an agency ("finance", "land-registry"), in bytes.
pub const AGENCY_ID_MAX_BYTES: usize = 32;
/// Longest human-readable name (agency, official, document title), in bytes.
pub const NAME_MAX_BYTES: usize = 128;
/// Longest role name, in bytes.
pub const ROLE_MAX_BYTES: usize = 32;
/// Most roles one account may hold.
pub const ROLES_MAX: usize = 16;
/// Most metadata entries on a notarised document.
pub const METADATA_ENTRIES_MAX: usize = 16;
/// Longest metadata key, in bytes.
pub const METADATA_KEY_MAX_BYTES: usize = 64;
/// Longest metadata value, in bytes.
pub const METADATA_VALUE_MAX_BYTES: usize = 512;
/// Longest free-text reason (revocation, deactivation), in bytes.
pub const REASON_MAX_BYTES: usize = 512;

/// Most agencies (and validators) in one genesis.
pub const AGENCIES_MAX: usize = 128;
/// Most validators in one epoch's set.
pub const VALIDATORS_MAX: usize = 64;
/// Most validator-set changes a proof bundle may carry (one per epoch whose set changed).
pub const HANDOVERS_MAX: usize = 4_096;
/// Most agencies that can approve one governance proposal.
pub const APPROVALS_MAX: usize = AGENCIES_MAX;
/// Most admin keys one agency lists in genesis.
pub const AGENCY_ADMIN_KEYS_MAX: usize = 8;
/// Most keys one account may hold (k-of-n signing).
pub const ACCOUNT_KEYS_MAX: usize = 8;
/// Longest Cedar schema, in bytes.
pub const AUTHZ_SCHEMA_MAX_BYTES: usize = 32 * 1024;
/// Longest text of one Cedar policy, in bytes (it must fit in a governance transaction).
pub const POLICY_MAX_BYTES: usize = 8 * 1024;
/// Longest policy identifier (its `@id` annotation), in bytes.
pub const POLICY_ID_MAX_BYTES: usize = 64;
/// Most policies in force at once.
pub const POLICIES_MAX: usize = 128;
/// Largest policy set (all policy texts together), in bytes.
pub const POLICY_SET_MAX_BYTES: usize = 48 * 1024;
/// Longest network address string in genesis ("127.0.0.1:9000"), in bytes.
pub const ADDRESS_MAX_BYTES: usize = 256;

/// Most events one transaction may emit.
pub const TX_EVENTS_MAX: usize = 64;
/// Longest failure code in a receipt, in bytes.
pub const FAILURE_CODE_MAX_BYTES: usize = 64;
/// Largest encoded state value, in bytes.
pub const STATE_VALUE_MAX_BYTES: usize = 64 * 1024;

/// Largest proof bundle accepted by the verifier, in bytes.
pub const BUNDLE_MAX_BYTES: usize = 1024 * 1024;
/// Most digests in one Merkle path inside a bundle.
pub const PROOF_DIGESTS_MAX: usize = 256;

/// Longest programme or economic-classification code ("primary-care", "2211"), in bytes.
pub const CODE_MAX_BYTES: usize = 32;
/// Longest free-text description (an appropriation's purpose, a tender's scope), in bytes.
pub const DESCRIPTION_MAX_BYTES: usize = 1_024;
/// Longest reference (an invoice number, a business registration number), in bytes.
pub const REFERENCE_MAX_BYTES: usize = 64;
/// Most notarised documents one tender lists.
pub const TENDER_DOCUMENTS_MAX: usize = 16;
/// Most evaluation criteria of one tender.
pub const CRITERIA_MAX: usize = 8;
/// Most members of one evaluation committee.
pub const COMMITTEE_MAX: usize = 9;
/// Most bids one tender accepts.
pub const BIDS_MAX: usize = 128;
/// Largest sealed (encrypted) bid carried with a bid commitment, in bytes.
pub const SEALED_BID_MAX_BYTES: usize = 4_096;
/// Most clarifications published for one tender.
pub const CLARIFICATIONS_MAX: usize = 16;
/// Most complaints recorded against one award.
pub const COMPLAINTS_MAX: usize = 16;
/// Most milestones of one contract.
pub const MILESTONES_MAX: usize = 24;
/// Most amendments of one contract.
pub const AMENDMENTS_MAX: usize = 32;
/// Longest standstill period after an award, in days.
pub const STANDSTILL_DAYS_MAX: u16 = 60;
/// Longest OCDS identifier (an imported process's `ocid`, a release's `id`), in bytes.
pub const OCDS_ID_MAX_BYTES: usize = 128;
/// Largest imported OCDS release (its JSON text), in bytes; it must fit in one transaction.
pub const OCDS_RELEASE_MAX_BYTES: usize = 12 * 1024;
/// Most releases imported for one contracting process.
pub const OCDS_RELEASES_MAX: usize = 64;
/// Most integrity signals raised on one award.
pub const SIGNALS_MAX: usize = 8;
