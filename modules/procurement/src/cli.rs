//! `civitas tx procurement ...`: one subcommand per procurement instruction, with its fields
//! as options, so that officials and bidders never write JSON.
//!
//! Amounts are written in major units with their currency, exactly as the ledger prints them
//! (`"140000.00 EUR"`); times in UTC (`2026-12-31T17:00:00Z`, or a date alone for midnight);
//! accounts as their 64 hex characters; documents as a file (hashed here, never sent) or its
//! SHA-256. The options every transaction takes (key, node, co-signers, ...) are the binary's
//! `C`. A release imported from another system is sent by `civitas ocds import`, which checks it
//! against the OCDS schema first.

use civitas_primitives::crypto::AccountId;
use civitas_primitives::hash::Hash32;
use civitas_primitives::kit::args::{account, document, money, time};
use civitas_primitives::kit::cli::{
    Console, ModuleCommand, ModuleMain, ModuleQuery, Prepared, Printed, QueryFailed, Sender,
};
use civitas_primitives::limits::OCDS_RELEASE_MAX_BYTES;
use civitas_primitives::money::Money;
use civitas_primitives::seal::EncryptionKey;
use civitas_primitives::time::TimestampMs;
use civitas_procurement_types::sealed::{BidOpening, combine_opening, open_share, seal_bid};
use civitas_procurement_types::{Criterion, Method, MilestoneTerms, ProcurementInstruction};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How a tender is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Any registered vendor may bid.
    Open,
    /// Only pre-qualified vendors may bid.
    Selective,
    /// The agency invites bids from chosen vendors.
    Limited,
    /// A single vendor, without competition.
    Direct,
}

impl From<MethodArg> for Method {
    fn from(method: MethodArg) -> Self {
        match method {
            MethodArg::Open => Method::Open,
            MethodArg::Selective => Method::Selective,
            MethodArg::Limited => Method::Limited,
            MethodArg::Direct => Method::Direct,
        }
    }
}

/// A bidding deadline: a date alone would mean its first second (00:00 UTC), which closes
/// bidding a day before most readers of "deadline 31 January" expect, so the time is required.
fn deadline(text: &str) -> Result<TimestampMs, String> {
    if !text.contains('T') {
        return Err(format!(
            "{text:?} has no time of day; give the exact UTC time bidding closes, such as \
             {}T17:00:00Z",
            text.trim()
        ));
    }
    time(text)
}

fn criterion(text: &str) -> Result<Criterion, String> {
    let bad = || format!("{text:?} is not a criterion and its weight, such as \"price=60\"");
    let (name, weight) = text.rsplit_once('=').ok_or_else(bad)?;
    Ok(Criterion {
        name: name.trim().to_string(),
        weight: weight.trim().parse().map_err(|_| bad())?,
    })
}

fn milestone(text: &str) -> Result<MilestoneTerms, String> {
    let bad = || {
        format!(
            "{text:?} is not a milestone written TITLE|AMOUNT|DUE, such as \
             \"Foundations|40000.00 EUR|2027-03-31\""
        )
    };
    let parts: Vec<&str> = text.split('|').collect();
    let [title, amount, due] = parts.as_slice() else {
        return Err(bad());
    };
    Ok(MilestoneTerms {
        title: title.trim().to_string(),
        amount: money(amount)?,
        due: time(due)?,
    })
}

/// The procurement module's instructions. `C` is the options every transaction takes.
#[derive(Subcommand, Debug)]
pub enum ProcurementCommand<C: Args> {
    /// Plan a purchase, funded by one of the agency's appropriations (a procurement official).
    ///
    /// Example: civitas tx procurement plan --appropriation 4 --title "Rural clinic"
    ///   --description "Design and build a 12-bed clinic" --estimated "450000.00 EUR"
    ///   --method open --key buyer.json
    Plan {
        /// The appropriation that will pay for it.
        #[arg(long)]
        appropriation: u64,
        /// Title.
        #[arg(long)]
        title: String,
        /// Scope of the purchase.
        #[arg(long)]
        description: String,
        /// Estimated value, such as "450000.00 EUR".
        #[arg(long, value_parser = money)]
        estimated: Money,
        /// How it will be procured.
        #[arg(long, value_enum)]
        method: MethodArg,
        #[command(flatten)]
        common: C,
    },
    /// Publish a planned tender: its notarised documents, deadline, criteria and committee.
    ///
    /// Example: civitas tx procurement publish --tender 1
    ///   --document 5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    ///   --deadline 2027-01-31T17:00:00Z --criterion price=60 --criterion "technical quality=40"
    ///   --committee 2b1f0ac6e1c4f2a7d35d3bd2c1d0e7a8b9f60718293a4b5c6d7e8f9012345678
    ///   --standstill-days 10 --key buyer.json
    Publish {
        /// The tender (the planned process's number).
        #[arg(long)]
        tender: u64,
        /// A tender document: a file (hashed here) or its SHA-256. Each must be notarised by
        /// the agency first (`civitas tx notary anchor`). Repeat for several.
        #[arg(long = "document", value_parser = document, required = true)]
        documents: Vec<Hash32>,
        /// No bid from this moment on, in UTC with the time of day (2027-01-31T17:00:00Z).
        #[arg(long, value_parser = deadline)]
        deadline: TimestampMs,
        /// A criterion and its weight in percent, NAME=WEIGHT; the weights add up to 100.
        /// Repeat for each, in the order scores will be given.
        #[arg(long = "criterion", value_parser = criterion, required = true)]
        criteria: Vec<Criterion>,
        /// An official on the committee that opens, evaluates and awards (1 to 9). Repeat for
        /// each.
        #[arg(long, value_parser = account, required = true)]
        committee: Vec<AccountId>,
        /// Days after the award during which complaints are recorded and no contract is
        /// signed.
        #[arg(long)]
        standstill_days: u16,
        #[command(flatten)]
        common: C,
    },
    /// Publish the answer to a bidder's question, before the deadline.
    ///
    /// Example: civitas tx procurement clarify --tender 1 --question "Is parking included?"
    ///   --answer "No; see section 4.2" --key buyer.json
    Clarify {
        /// The tender.
        #[arg(long)]
        tender: u64,
        /// The question, as asked (without the name of who asked).
        #[arg(long)]
        question: String,
        /// The answer.
        #[arg(long)]
        answer: String,
        #[command(flatten)]
        common: C,
    },
    /// Seal and submit a bid (a vendor): only a commitment to the price, the proposal's
    /// SHA-256 and a random salt goes on the ledger. The secret that opens it is written to
    /// --secret first; keep it until the bid is opened. The secret is also split into shares
    /// sealed to the committee members that registered an encryption key, so that a majority of
    /// them can open the bid after the deadline if the bidder does not (no smaller part can).
    ///
    /// Example: civitas tx procurement bid --tender 4 --price "140000.00 EUR"
    ///   --proposal offer.pdf --secret tender-4.bid.json --key acme.json
    Bid {
        /// The tender's number.
        #[arg(long)]
        tender: u64,
        /// The price with its currency ("140000.00 EUR"), or in major units with --currency.
        #[arg(long)]
        price: String,
        /// ISO 4217 code of the price, when --price gives the amount alone.
        #[arg(long)]
        currency: Option<String>,
        /// The technical proposal document (only its SHA-256 is committed).
        #[arg(long)]
        proposal: PathBuf,
        /// Where to write the secret that opens the bid (refused if the file exists).
        #[arg(long)]
        secret: PathBuf,
        #[command(flatten)]
        common: C,
    },
    /// Open a sealed bid after the deadline: the bidder from the secret written by `bid`, or a
    /// committee member from a majority of the committee's shares (`--tender 4 --bidder
    /// <account> --shares a.json,b.json`: the signer's own share is opened with its key file,
    /// the others are files members wrote with `civitas bid-share`).
    ///
    /// Example: civitas tx procurement open --secret tender-4.bid.json --key acme.json
    Open {
        /// The secret file.
        #[arg(long, required_unless_present_all = ["tender", "bidder"], conflicts_with_all = ["tender", "bidder"])]
        secret: Option<PathBuf>,
        /// The tender, to open a bid from the committee's copy.
        #[arg(long, requires = "bidder")]
        tender: Option<u64>,
        /// Whose bid, to open it from the committee's copy.
        #[arg(long, value_parser = account, requires = "tender")]
        bidder: Option<AccountId>,
        /// Other members' shares (files written by `civitas bid-share`), comma-separated.
        #[arg(long, value_delimiter = ',', requires = "tender")]
        shares: Vec<PathBuf>,
        #[command(flatten)]
        common: C,
    },
    /// Score an opened bid against the tender's criteria, with a written justification (a
    /// committee member).
    ///
    /// Example: civitas tx procurement evaluate --tender 1
    ///   --bidder 2b1f0ac6e1c4f2a7d35d3bd2c1d0e7a8b9f60718293a4b5c6d7e8f9012345678
    ///   --scores 80,70 --justification "Lowest price; sound method statement" --key member.json
    Evaluate {
        /// The tender.
        #[arg(long)]
        tender: u64,
        /// Whose bid (the bidder's account).
        #[arg(long, value_parser = account)]
        bidder: AccountId,
        /// Scores from 0 to 100, in the order of the tender's criteria, separated by commas.
        #[arg(long, value_delimiter = ',', required = true)]
        scores: Vec<u8>,
        /// Why.
        #[arg(long)]
        justification: String,
        #[command(flatten)]
        common: C,
    },
    /// Award the tender to an evaluated bid; the standstill period starts.
    ///
    /// Example: civitas tx procurement award --tender 1
    ///   --bidder 2b1f0ac6e1c4f2a7d35d3bd2c1d0e7a8b9f60718293a4b5c6d7e8f9012345678
    ///   --justification "Highest weighted score" --key member.json
    Award {
        /// The tender.
        #[arg(long)]
        tender: u64,
        /// The winning bidder.
        #[arg(long, value_parser = account)]
        bidder: AccountId,
        /// Why this bid.
        #[arg(long)]
        justification: String,
        #[command(flatten)]
        common: C,
    },
    /// Record a complaint against an award during its standstill (anyone with an account).
    ///
    /// Example: civitas tx procurement complain --tender 1
    ///   --text "The winning bid missed the insurance certificate" --key acme.json
    Complain {
        /// The tender.
        #[arg(long)]
        tender: u64,
        /// The complaint. It is public: write about the award, not about a person.
        #[arg(long)]
        text: String,
        #[command(flatten)]
        common: C,
    },
    /// Sign the contract of an awarded tender after its standstill, with its milestones (their
    /// amounts add up to the awarded price).
    ///
    /// Example: civitas tx procurement sign --tender 1
    ///   --milestone "Foundations|40000.00 EUR|2027-03-31"
    ///   --milestone "Handover|100000.00 EUR|2027-09-30" --key buyer.json
    Sign {
        /// The awarded tender.
        #[arg(long)]
        tender: u64,
        /// A milestone, TITLE|AMOUNT|DUE, in order; DUE in UTC (2027-03-31T17:00:00Z), or a
        /// date alone for 00:00 UTC at the start of that day. Repeat for each.
        #[arg(long = "milestone", value_parser = milestone, required = true)]
        milestones: Vec<MilestoneTerms>,
        #[command(flatten)]
        common: C,
    },
    /// Accept a delivered milestone: the vendor is paid from the tender's appropriation in the
    /// same transaction.
    ///
    /// Example: civitas tx procurement accept --contract 1 --milestone 0
    ///   --note "Site inspection 2027-03-28, report 17" --key buyer.json
    Accept {
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The milestone's position (0 for the first).
        #[arg(long)]
        milestone: u16,
        /// What was checked.
        #[arg(long)]
        note: String,
        #[command(flatten)]
        common: C,
    },
    /// Amend the milestones not yet accepted, with a reason; every signer is recorded as
    /// approving it.
    ///
    /// Example: civitas tx procurement amend --contract 1
    ///   --milestone "Handover|100000.00 EUR|2027-11-30"
    ///   --reason "Flooding delayed the works by two months" --key buyer.json
    Amend {
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The new terms of a milestone not yet accepted, TITLE|AMOUNT|DUE, in order; DUE in
        /// UTC, or a date alone for 00:00 UTC at the start of that day. Repeat for each.
        #[arg(long = "milestone", value_parser = milestone, required = true)]
        milestones: Vec<MilestoneTerms>,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Cancel a tender that has no contract, with a reason.
    ///
    /// Example: civitas tx procurement cancel --tender 1 --reason "Funding withdrawn"
    ///   --key buyer.json
    Cancel {
        /// The tender.
        #[arg(long)]
        tender: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
}

/// What opens a sealed bid: written by `bid`, read by `open`.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct BidSecret {
    /// The tender.
    pub tender: u64,
    /// The bidder's account.
    pub bidder: AccountId,
    /// The price offered.
    pub price: Money,
    /// SHA-256 of the technical proposal.
    pub proposal: Hash32,
    /// The random salt.
    pub salt: Hash32,
    /// What went on the ledger.
    pub commitment: Hash32,
}

impl<C: Args> ModuleCommand<C> for ProcurementCommand<C> {
    type Instruction = ProcurementInstruction;

    fn common(&self) -> &C {
        self.options()
    }

    fn prepare(
        self,
        console: &dyn Console,
    ) -> Result<(Prepared<ProcurementInstruction>, C), String> {
        let signer = console.signer()?;
        let (instruction, common) = match self {
            Self::Bid {
                tender,
                price,
                currency,
                proposal,
                secret,
                common,
            } => {
                // The committee's keys are read before the secret is written: a failed read
                // leaves nothing behind.
                let members = committee_keys(console, tender)?;
                let record = seal_record(
                    tender,
                    &price,
                    currency.as_deref(),
                    &proposal,
                    &secret,
                    signer,
                )?;
                let opening = BidOpening {
                    price: record.price,
                    proposal: record.proposal,
                    salt: record.salt,
                };
                let sealed = seal_bid(tender, &signer, &opening, &members)
                    .map_err(|e| format!("cannot seal the bid to the committee: {e}"))?;
                if !sealed.is_empty() {
                    console.note(&format!(
                        "shares sealed to {} committee members; {} of them can open the bid \
                         after the deadline",
                        members.len(),
                        civitas_procurement_types::sealed::majority(members.len())
                    ));
                }
                (
                    ProcurementInstruction::Bid {
                        tender,
                        commitment: record.commitment,
                        sealed,
                    },
                    common,
                )
            }
            Self::Open {
                secret: None,
                tender: Some(tender),
                bidder: Some(bidder),
                shares,
                common,
            } => (
                open_from_shares(console, tender, bidder, signer, &shares)?,
                common,
            ),
            other => other.into_instruction(signer)?,
        };
        Ok((Prepared::sign(instruction), common))
    }
}

impl<C: Args> ProcurementCommand<C> {
    /// The options every transaction takes.
    pub fn options(&self) -> &C {
        match self {
            Self::Plan { common, .. }
            | Self::Publish { common, .. }
            | Self::Clarify { common, .. }
            | Self::Bid { common, .. }
            | Self::Open { common, .. }
            | Self::Evaluate { common, .. }
            | Self::Award { common, .. }
            | Self::Complain { common, .. }
            | Self::Sign { common, .. }
            | Self::Accept { common, .. }
            | Self::Amend { common, .. }
            | Self::Cancel { common, .. } => common,
        }
    }

    /// The instruction the command signs for `signer`, and the transaction options; or why
    /// the options do not make one. `bid` writes its secret file before it returns (a bid
    /// whose secret was lost could never be opened).
    pub fn into_instruction(
        self,
        signer: AccountId,
    ) -> Result<(ProcurementInstruction, C), String> {
        use ProcurementInstruction as P;
        Ok(match self {
            Self::Plan {
                appropriation,
                title,
                description,
                estimated,
                method,
                common,
            } => (
                P::Plan {
                    appropriation,
                    title,
                    description,
                    estimated,
                    method: method.into(),
                },
                common,
            ),
            Self::Publish {
                tender,
                documents,
                deadline,
                criteria,
                committee,
                standstill_days,
                common,
            } => (
                P::Publish {
                    tender,
                    documents,
                    deadline,
                    criteria,
                    committee,
                    standstill_days,
                },
                common,
            ),
            Self::Clarify {
                tender,
                question,
                answer,
                common,
            } => (
                P::Clarify {
                    tender,
                    question,
                    answer,
                },
                common,
            ),
            Self::Bid {
                tender,
                price,
                currency,
                proposal,
                secret,
                common,
            } => (
                seal(
                    tender,
                    &price,
                    currency.as_deref(),
                    &proposal,
                    &secret,
                    signer,
                )?,
                common,
            ),
            Self::Open { secret, common, .. } => {
                // The bidder opens its bid; a committee member holding the secret may too.
                let Some(secret) = secret else {
                    return Err(
                        "opening a bid from the committee's copy reads the bid from the node"
                            .into(),
                    );
                };
                let record = read_secret(&secret)?;
                (
                    P::Open {
                        tender: record.tender,
                        bidder: record.bidder,
                        price: record.price,
                        proposal: record.proposal,
                        salt: record.salt,
                    },
                    common,
                )
            }
            Self::Evaluate {
                tender,
                bidder,
                scores,
                justification,
                common,
            } => (
                P::Evaluate {
                    tender,
                    bidder,
                    scores,
                    justification,
                },
                common,
            ),
            Self::Award {
                tender,
                bidder,
                justification,
                common,
            } => (
                P::Award {
                    tender,
                    bidder,
                    justification,
                },
                common,
            ),
            Self::Complain {
                tender,
                text,
                common,
            } => (P::Complain { tender, text }, common),
            Self::Sign {
                tender,
                milestones,
                common,
            } => (P::Sign { tender, milestones }, common),
            Self::Accept {
                contract,
                milestone,
                note,
                common,
            } => (
                P::Accept {
                    contract,
                    milestone,
                    note,
                },
                common,
            ),
            Self::Amend {
                contract,
                milestones,
                reason,
                common,
            } => (
                P::Amend {
                    contract,
                    milestones,
                    reason,
                },
                common,
            ),
            Self::Cancel {
                tender,
                reason,
                common,
            } => (P::Cancel { tender, reason }, common),
        })
    }
}

/// The encryption keys of tender `tender`'s committee members that registered one, read from
/// the node; tells the person which members have none. A node that cannot say (an older
/// release, during an upgrade) leaves the bid without shares, which the person is told.
fn committee_keys(
    console: &dyn Console,
    tender: u64,
) -> Result<Vec<(AccountId, EncryptionKey)>, String> {
    let view = console
        .get(&format!("/v1/procurement/tenders/{tender}"))
        .map_err(|e| {
            format!("cannot read tender {tender} to seal the bid to its committee: {e}")
        })?;
    let committee: Vec<AccountId> = serde_json::from_value(view["tender"]["committee"].clone())
        .map_err(|_| format!("tender {tender} as the node gave it names no committee"))?;
    let mut members = Vec::new();
    for member in committee {
        let value = match console.get(&format!("/v1/state/identity/encryption_key/{member}")) {
            Ok(value) => value,
            // No answer at all: try again later rather than submit a bid without shares.
            Err(e) if e.status.is_none() => {
                return Err(format!(
                    "cannot read the encryption key of committee member {member}: {e}"
                ));
            }
            // The node answered that it keeps no such record: an older release.
            Err(e) => {
                console.note(&format!(
                    "cannot read the committee's encryption keys ({e}): no shares are sealed; \
                     only the secret file opens this bid"
                ));
                return Ok(Vec::new());
            }
        };
        match serde_json::from_value::<EncryptionKey>(value["value"].clone()) {
            Ok(key) if value["found"] == true => members.push((member, key)),
            _ => console.note(&format!(
                "committee member {member} has registered no encryption key: it gets no share"
            )),
        }
    }
    if members.len() < 2 {
        console.note(
            "fewer than two committee members have an encryption key, and one alone could read \
             the bid at once: no shares are sealed; only the secret file opens this bid",
        );
    }
    Ok(members)
}

/// A bid as the node gives it in its tender: its commitment and `sealed` field.
fn bid_on_ledger(
    console: &dyn Console,
    tender: u64,
    bidder: &AccountId,
) -> Result<(serde_json::Value, Hash32, Vec<u8>), String> {
    let view = console
        .get(&format!("/v1/procurement/tenders/{tender}"))
        .map_err(|e| format!("cannot read tender {tender}: {e}"))?;
    let bid = view["bids"]
        .as_array()
        .and_then(|bids| {
            bids.iter()
                .find(|b| b["bidder"].as_str() == Some(bidder.to_hex().as_str()))
        })
        .ok_or_else(|| format!("tender {tender} has no bid from {bidder}"))?;
    let commitment: Hash32 = serde_json::from_value(bid["commitment"].clone())
        .map_err(|_| format!("the bid of {bidder} as the node gave it has no commitment"))?;
    let sealed = hex::decode(bid["sealed"].as_str().unwrap_or_default())
        .map_err(|_| format!("the bid of {bidder} as the node gave it has no sealed field"))?;
    Ok((view, commitment, sealed))
}

/// What a committee member hands over to open a bid: its share, opened.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct BidShare {
    /// Always `civitas-bid-share`.
    pub kind: String,
    /// The tender.
    pub tender: u64,
    /// Whose bid.
    pub bidder: AccountId,
    /// The member whose share it is.
    pub member: AccountId,
    /// The share, hex.
    pub share: String,
}

/// The `open` instruction for `bidder`'s bid on `tender`, rebuilt from the shares: the
/// signer's own (opened with the signing key file's decryption keys, if it has one) and those
/// in `files`.
fn open_from_shares(
    console: &dyn Console,
    tender: u64,
    bidder: AccountId,
    member: AccountId,
    files: &[PathBuf],
) -> Result<ProcurementInstruction, String> {
    let (_, commitment, sealed) = bid_on_ledger(console, tender, &bidder)?;
    let mut shares: Vec<(AccountId, Vec<u8>)> = Vec::new();
    let own = console.decryption_keys().and_then(|keys| {
        open_share(&sealed, tender, &bidder, &commitment, &member, &keys).map_err(|e| e.to_string())
    });
    match own {
        Ok(share) => shares.push((member, share)),
        Err(e) => console.note(&format!("the signer's own share is not used: {e}")),
    }
    for file in files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let share: BidShare = serde_json::from_str(&text)
            .ok()
            .filter(|s: &BidShare| s.kind == "civitas-bid-share")
            .ok_or_else(|| {
                format!(
                    "{} is not a share written by `civitas bid-share`",
                    file.display()
                )
            })?;
        if share.tender != tender || share.bidder != bidder {
            return Err(format!(
                "{} is a share of {}'s bid on tender {}, not this one",
                file.display(),
                share.bidder,
                share.tender
            ));
        }
        let bytes = hex::decode(&share.share)
            .map_err(|_| format!("{}: the share is not hex", file.display()))?;
        if !shares.iter().any(|(m, _)| *m == share.member) {
            shares.push((share.member, bytes));
        }
    }
    let shares: Vec<Vec<u8>> = shares.into_iter().map(|(_, share)| share).collect();
    let opening = combine_opening(&sealed, tender, &bidder, &commitment, &shares)
        .map_err(|e| e.to_string())?;
    Ok(ProcurementInstruction::Open {
        tender,
        bidder,
        price: opening.price,
        proposal: opening.proposal,
        salt: opening.salt,
    })
}

/// Opens the signer's share of `bidder`'s bid on `tender` once the deadline has passed on the
/// ledger, and writes it to `out` (readable by its owner only, never over a file).
fn write_bid_share(
    console: &dyn Console,
    tender: u64,
    bidder: AccountId,
    out: &Path,
) -> Result<String, String> {
    let member = console.signer()?;
    let (view, commitment, sealed) = bid_on_ledger(console, tender, &bidder)?;
    let deadline = view["tender"]["deadline"].as_u64().unwrap_or(u64::MAX);
    let now = console
        .get("/v1/status")
        .map_err(|e| format!("cannot read the ledger's time: {e}"))?["timestamp"]
        .as_u64()
        .unwrap_or(0);
    if now < deadline {
        return Err(format!(
            "tender {tender}'s deadline ({}) has not passed on the ledger (its time is {}): a \
             share handed over now would let the committee read the bid early",
            TimestampMs(deadline).rfc3339(),
            TimestampMs(now).rfc3339()
        ));
    }
    let keys = console.decryption_keys()?;
    let share = open_share(&sealed, tender, &bidder, &commitment, &member, &keys)
        .map_err(|e| e.to_string())?;
    let record = BidShare {
        kind: "civitas-bid-share".into(),
        tender,
        bidder,
        member,
        share: hex::encode(&share),
    };
    let text = serde_json::to_string_pretty(&record).map_err(|e| e.to_string())? + "\n";
    write_owner_only(out, &text)?;
    Ok(format!(
        "wrote {}: {member}'s share of {bidder}'s bid on tender {tender}; give it to the member \
         who opens the bid (`civitas tx procurement open --tender {tender} --bidder {bidder} \
         --shares ...`)",
        out.display()
    ))
}

/// Writes `text` to a new file readable by its owner only.
fn write_owner_only(path: &Path, text: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Seals a bid: the commitment, with the secret that opens it written to `secret` first.
fn seal(
    tender: u64,
    price: &str,
    currency: Option<&str>,
    proposal: &Path,
    secret: &Path,
    bidder: AccountId,
) -> Result<ProcurementInstruction, String> {
    let record = seal_record(tender, price, currency, proposal, secret, bidder)?;
    Ok(ProcurementInstruction::Bid {
        tender,
        commitment: record.commitment,
        sealed: Vec::new(),
    })
}

/// Makes a bid's secret and commitment, and writes the secret to `secret` (never over a file
/// that exists).
fn seal_record(
    tender: u64,
    price: &str,
    currency: Option<&str>,
    proposal: &Path,
    secret: &Path,
    bidder: AccountId,
) -> Result<BidSecret, String> {
    if secret.exists() {
        return Err(format!(
            "{} already exists; a bid's secret is never overwritten (it may open a bid already \
             sealed). If that bid never reached the ledger (`civitas query tender` lists the \
             bids), move the file away and seal again",
            secret.display()
        ));
    }
    let price = match currency {
        Some(code) => {
            let currency = civitas_primitives::kit::args::currency(code)?;
            Money::parse_major(price, currency).map_err(|e| e.to_string())?
        }
        None => money(price)?,
    };
    let bytes = std::fs::read(proposal)
        .map_err(|e| format!("cannot read the proposal {}: {e}", proposal.display()))?;
    let proposal = Hash32::sha256(&bytes);
    let salt = Hash32(civitas_primitives::crypto::random_32().map_err(|e| e.to_string())?);
    let commitment =
        civitas_procurement_types::bid_commitment(tender, &bidder, &price, &proposal, &salt);
    let record = BidSecret {
        tender,
        bidder,
        price,
        proposal,
        salt,
        commitment,
    };
    let text = serde_json::to_string_pretty(&record).map_err(|e| e.to_string())? + "\n";
    // The salt and the price stay secret until the opening: readable by the owner only.
    write_owner_only(secret, &text)?;
    eprintln!(
        "sealed: commitment {commitment}; the secret that opens it is in {}",
        secret.display()
    );
    Ok(record)
}

fn read_secret(secret: &Path) -> Result<BidSecret, String> {
    let text = std::fs::read_to_string(secret)
        .map_err(|e| format!("cannot read {}: {e}", secret.display()))?;
    serde_json::from_str(&text).map_err(|_| {
        format!(
            "{} is not a bid secret written by `civitas tx procurement bid`",
            secret.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::kit::cli::{ReadError, TestCli, TestKey, examples};
    use clap::{CommandFactory, Parser};

    type Cli = TestCli<ProcurementCommand<TestKey>>;

    /// A fresh directory for one test's files.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "civitas-procurement-cli-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Every procurement instruction has a subcommand named after it, whose help explains
    /// every option and gives an example; the example makes that instruction, valid as
    /// written. An imported release is sent by `civitas ocds import`, which checks it against
    /// the OCDS schema first.
    #[test]
    fn every_instruction_has_a_subcommand_with_a_working_example() {
        let dir = scratch("examples");
        std::fs::write(dir.join("offer.pdf"), b"our offer").unwrap();
        let command = Cli::command();
        let prefix = ["civitas", "tx", "procurement"];
        for (name, argv) in
            examples::<ProcurementInstruction>(&command, &prefix, &["ImportRelease"])
        {
            // Files the examples name live in the scratch directory.
            let argv: Vec<String> = argv
                .into_iter()
                .map(|w| {
                    if w.ends_with(".pdf") || w.ends_with(".bid.json") {
                        dir.join(w).display().to_string()
                    } else {
                        w
                    }
                })
                .collect();
            let cli = Cli::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("the example of {name} does not parse: {e}"));
            let (instruction, key) = cli.command.into_instruction(AccountId([7; 32])).unwrap();
            assert!(!key.key.is_empty());
            assert_eq!(
                instruction.name(),
                format!("procurement.{}", name.replace('-', "_"))
            );
            instruction
                .validate()
                .unwrap_or_else(|e| panic!("the example of {name} is not valid: {e}"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `civitas bid` on tender 4 at 140,000.00 EUR, with the proposal and secret files given.
    fn bid_on_tender_4(offer: &Path, secret: &Path) -> Vec<String> {
        [
            "civitas",
            "bid",
            "--tender",
            "4",
            "--price",
            "140000.00 EUR",
            "--proposal",
            offer.to_str().unwrap(),
            "--secret",
            secret.to_str().unwrap(),
            "--key",
            "k",
        ]
        .map(str::to_string)
        .to_vec()
    }

    /// What a node answers a bid's sealing and opening: tender 4, whose committee is three
    /// members of which the first two registered an encryption key, and the bids given; and
    /// the key file of whoever signs.
    struct Node {
        signer: AccountId,
        members: [AccountId; 3],
        keys: [civitas_primitives::seal::DecryptionKey; 2],
        now: u64,
        bids: std::rc::Rc<std::cell::RefCell<Vec<serde_json::Value>>>,
        notes: std::cell::RefCell<Vec<String>>,
    }

    impl Console for Node {
        fn node(&self) -> &str {
            "test"
        }
        fn get(&self, path: &str) -> Result<serde_json::Value, ReadError> {
            if path == "/v1/procurement/tenders/4" {
                return Ok(serde_json::json!({
                    "tender": { "id": 4, "committee": self.members, "deadline": 5_000 },
                    "bids": *self.bids.borrow(),
                }));
            }
            if path == "/v1/status" {
                return Ok(serde_json::json!({ "timestamp": self.now }));
            }
            for (member, key) in self.members.iter().zip(&self.keys) {
                if path == format!("/v1/state/identity/encryption_key/{member}") {
                    return Ok(serde_json::json!({ "found": true, "value": key.public() }));
                }
            }
            if path.starts_with("/v1/state/identity/encryption_key/") {
                return Ok(serde_json::json!({ "found": false }));
            }
            Err(ReadError {
                status: Some(404),
                message: format!("no {path}"),
            })
        }
        fn signer(&self) -> Result<AccountId, String> {
            Ok(self.signer)
        }
        fn confirm(&self, _: &str, _: bool) -> Result<(), String> {
            Ok(())
        }
        fn note(&self, line: &str) {
            self.notes.borrow_mut().push(line.to_string());
        }
        fn decryption_keys(&self) -> Result<Vec<civitas_primitives::seal::DecryptionKey>, String> {
            let at = self.members.iter().position(|m| *m == self.signer);
            Ok(at
                .and_then(|i| self.keys.get(i))
                .into_iter()
                .cloned()
                .collect())
        }
    }

    /// A bid is sealed in shares to the committee members with an encryption key; after the
    /// deadline a majority of them opens it without the bidder's secret, and one alone cannot.
    #[test]
    fn a_majority_of_the_committee_opens_a_bid_from_its_shares() {
        let dir = scratch("committee");
        let offer = dir.join("offer.pdf");
        std::fs::write(&offer, b"our offer").unwrap();
        let secret = dir.join("tender-4.bid.json");
        let bidder = AccountId([7; 32]);
        let members = [AccountId([1; 32]), AccountId([2; 32]), AccountId([3; 32])];
        let node = |signer: AccountId, now: u64, bids: &std::rc::Rc<_>| Node {
            signer,
            members,
            keys: [
                civitas_primitives::seal::DecryptionKey::from_test_seed(11),
                civitas_primitives::seal::DecryptionKey::from_test_seed(12),
            ],
            now,
            bids: std::rc::Rc::clone(bids),
            notes: Default::default(),
        };
        let bids = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let as_bidder = node(bidder, 1_000, &bids);
        let bid = Cli::parse_from(bid_on_tender_4(&offer, &secret));
        let (prepared, _) = bid.command.prepare(&as_bidder).unwrap();
        let ProcurementInstruction::Bid {
            tender,
            commitment,
            sealed,
        } = prepared.instruction
        else {
            panic!("not a bid");
        };
        assert_eq!(tender, 4);
        assert!(!sealed.is_empty());
        let notes = as_bidder.notes.borrow().join("\n");
        assert!(
            notes.contains(&members[2].to_hex()) && notes.contains("no encryption key"),
            "{notes}"
        );
        assert!(notes.contains("2 of them can open"), "{notes}");
        bids.borrow_mut().push(serde_json::json!({
            "bidder": bidder,
            "commitment": commitment,
            "sealed": hex::encode(&sealed),
        }));

        // Before the deadline a member's share is not handed over.
        let share_file = dir.join("share-1.json");
        let early = write_bid_share(&node(members[0], 4_999, &bids), 4, bidder, &share_file);
        assert!(early.unwrap_err().contains("has not passed"));
        // After it, the first member writes its share; the second opens the bid with it.
        write_bid_share(&node(members[0], 5_000, &bids), 4, bidder, &share_file).unwrap();
        let open = |shares: &[&Path]| {
            let list = shares
                .iter()
                .map(|p| p.to_str().unwrap())
                .collect::<Vec<_>>()
                .join(",");
            let mut argv = vec!["civitas", "open", "--tender", "4", "--bidder"];
            let bidder_hex = bidder.to_hex();
            argv.push(&bidder_hex);
            if !list.is_empty() {
                argv.extend(["--shares", &list]);
            }
            argv.extend(["--key", "k"]);
            Cli::parse_from(argv)
        };
        let record = read_secret(&secret).unwrap();
        let (prepared, _) = open(&[&share_file])
            .command
            .prepare(&node(members[1], 5_000, &bids))
            .unwrap();
        assert_eq!(
            prepared.instruction,
            ProcurementInstruction::Open {
                tender: 4,
                bidder,
                price: record.price,
                proposal: record.proposal,
                salt: record.salt,
            }
        );
        // One member alone cannot.
        let error = open(&[])
            .command
            .prepare(&node(members[1], 5_000, &bids))
            .err()
            .unwrap();
        assert!(error.contains("1 of the 2 shares"), "{error}");
        // --secret and --tender together are refused.
        assert!(
            Cli::try_parse_from([
                "civitas", "open", "--secret", "s.json", "--tender", "4", "--key", "k"
            ])
            .is_err()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A bid is sealed to a commitment the secret file opens; the secret is never overwritten.
    #[test]
    fn a_sealed_bid_opens_from_its_secret() {
        let dir = scratch("bid");
        let offer = dir.join("offer.pdf");
        std::fs::write(&offer, b"our offer").unwrap();
        let secret = dir.join("tender-4.bid.json");
        let bidder = AccountId([7; 32]);
        let argv = |extra: &[&str]| -> Vec<String> {
            ["civitas"]
                .iter()
                .chain(extra)
                .chain(&["--key", "k"])
                .map(|s| s.to_string())
                .collect()
        };
        let bid = bid_on_tender_4(&offer, &secret);
        let (sealed, _) = Cli::parse_from(&bid)
            .command
            .into_instruction(bidder)
            .unwrap();
        let ProcurementInstruction::Bid { commitment, .. } = sealed else {
            panic!("{sealed:?}");
        };
        let record = read_secret(&secret).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o077,
                0,
                "the secret is readable by others: {mode:o}"
            );
        }
        assert_eq!(record.commitment, commitment);
        assert_eq!(record.proposal, Hash32::sha256(b"our offer"));
        assert_eq!(record.price.to_string(), "140000.00 EUR");
        // Sealing again would lose the first secret: refused.
        let again = Cli::parse_from(&bid)
            .command
            .into_instruction(bidder)
            .unwrap_err();
        assert!(again.contains("never overwritten"), "{again}");
        let open = argv(&["open", "--secret", secret.to_str().unwrap()]);
        let (opened, _) = Cli::parse_from(&open)
            .command
            .into_instruction(bidder)
            .unwrap();
        let ProcurementInstruction::Open {
            tender,
            bidder: who,
            price,
            proposal,
            salt,
        } = opened
        else {
            panic!("{opened:?}");
        };
        assert_eq!((tender, who), (4, bidder));
        assert_eq!(
            civitas_procurement_types::bid_commitment(tender, &who, &price, &proposal, &salt),
            commitment
        );
        // The older form: the amount alone, with --currency.
        let older = argv(&[
            "bid",
            "--tender",
            "5",
            "--price",
            "1200.50",
            "--currency",
            "EUR",
            "--proposal",
            offer.to_str().unwrap(),
            "--secret",
            dir.join("tender-5.bid.json").to_str().unwrap(),
        ]);
        Cli::parse_from(&older)
            .command
            .into_instruction(bidder)
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named() {
        let refused = |argv: &[&str]| Cli::try_parse_from(argv).unwrap_err().to_string();
        let sign = [
            "civitas",
            "sign",
            "--tender",
            "1",
            "--key",
            "k",
            "--milestone",
        ];
        let error = refused(&[&sign[..], &["Foundations|40000.00 EUR"]].concat());
        assert!(error.contains("TITLE|AMOUNT|DUE"), "{error}");
        let error = refused(&[&sign[..], &["Foundations|40000.00 EUR|2027-02-30"]].concat());
        assert!(error.contains("2027-02-30"), "{error}");
        let hash = "ab".repeat(32);
        let publish = |document: &str, deadline: &str, criterion: &str| {
            refused(&[
                "civitas",
                "publish",
                "--tender",
                "1",
                "--document",
                document,
                "--deadline",
                deadline,
                "--criterion",
                criterion,
                "--committee",
                &hash,
                "--standstill-days",
                "10",
                "--key",
                "k",
            ])
        };
        let error = publish("missing.pdf", "2027-01-31T17:00:00Z", "price=60");
        assert!(error.contains("missing.pdf"), "{error}");
        let error = publish(&hash, "2027-01-31T17:00:00Z", "price");
        assert!(error.contains("price=60"), "{error}");
        let error = publish(&hash, "2027-01-31", "price=100");
        assert!(error.contains("2027-01-31T17:00:00Z"), "{error}");
    }
}

/// Procurement's reads. `C` is the options every read takes (the node).
#[derive(Subcommand, Debug)]
pub enum ProcurementQuery<C: Args> {
    /// A tender: stage, deadline, bids, award with its integrity signals, contract.
    ///
    /// Example: civitas query tender 1
    Tender {
        /// The tender's number.
        tender: u64,
        #[command(flatten)]
        common: C,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl<C: Args> ModuleQuery<C> for ProcurementQuery<C> {
    fn common(&self) -> &C {
        match self {
            Self::Tender { common, .. } => common,
        }
    }

    fn run(self, console: &dyn Console) -> Result<Printed, QueryFailed> {
        let Self::Tender { tender, json, .. } = self;
        let value = console.get(&format!("/v1/procurement/tenders/{tender}"))?;
        if json {
            return Ok(Printed::Json(value));
        }
        Ok(Printed::Text(tender_text(&value)))
    }
}

/// A tender as `civitas query tender` prints it.
fn tender_text(value: &serde_json::Value) -> String {
    let money = |v: &serde_json::Value| serde_json::from_value::<Money>(v.clone()).ok();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let t = &value["tender"];
    let mut out = format!(
        "tender {}: {}\nagency:     {}\nstage:      {}\n",
        t["id"],
        text(&t["title"]),
        text(&t["agency"]),
        text(&t["stage"])
    );
    if let Some(estimated) = money(&t["estimated"]) {
        out.push_str(&format!("estimated:  {estimated}\n"));
    }
    if let Some(deadline) = t["deadline"].as_u64().filter(|d| *d > 0) {
        out.push_str(&format!(
            "deadline:   {}\n",
            TimestampMs(deadline).rfc3339()
        ));
    }
    for bid in value["bids"].as_array().into_iter().flatten() {
        let opening = match money(&bid["opening"]["price"]) {
            Some(price) => format!("opened at {price}"),
            None => format!("sealed ({})", text(&bid["commitment"])),
        };
        let score = bid["mean_score"]
            .as_u64()
            .map(|s| format!(", score {}.{:02}", s / 100, s % 100))
            .unwrap_or_default();
        out.push_str(&format!(
            "bid:        {} {opening}{score}\n",
            text(&bid["bidder"])
        ));
    }
    if let Some(award) = t["award"].as_object() {
        if let Some(v) = money(&award["value"]) {
            out.push_str(&format!(
                "award:      {} for {v}: {}\n",
                text(&award["bidder"]),
                text(&award["justification"])
            ));
        }
        for signal in award["signals"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "signal:     {}: {}\n",
                text(&signal["code"]),
                text(&signal["detail"])
            ));
        }
    }
    if let Some(contract) = value["contract"].as_object() {
        for (i, m) in contract["milestones"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let paid = match m["accepted"]["payment"].as_u64() {
                Some(p) => format!("accepted, paid (payment {p})"),
                None => "not yet accepted".to_string(),
            };
            let amount = money(&m["terms"]["amount"])
                .map(|a| a.to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "milestone {i}: {} {amount}: {paid}\n",
                text(&m["terms"]["title"])
            ));
        }
    }
    out
}

/// Procurement's own top-level commands. `C` is the options every transaction takes.
#[derive(Subcommand, Debug)]
pub enum ProcurementMain<C: Args> {
    /// OCDS 1.1: check release packages, import historical contracting processes.
    #[command(subcommand)]
    Ocds(OcdsCommand<C>),
    /// A committee member opens its share of a sealed bid, once the deadline has passed on the
    /// ledger, and writes it to a file to hand to the member who opens the bid (a majority of
    /// the committee's shares opens it).
    ///
    /// Example: civitas bid-share --tender 4
    ///   --bidder 2b1f0ac6e1c4f2a7d35d3bd2c1d0e7a8b9f60718293a4b5c6d7e8f9012345678
    ///   --file share-4.json --key member.json
    BidShare {
        /// The tender.
        #[arg(long)]
        tender: u64,
        /// Whose bid.
        #[arg(long, value_parser = account)]
        bidder: AccountId,
        /// Where to write the share (refused if the file exists).
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        common: C,
    },
}

/// `civitas ocds ...`.
#[derive(Subcommand, Debug)]
pub enum OcdsCommand<C: Args> {
    /// Check a release package against the OCDS 1.1 schema; lists every problem with where it
    /// is. Nothing is sent anywhere.
    ///
    /// Example: civitas ocds validate releases-2019.json
    Validate {
        /// The release package (JSON).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import the releases of a package as historical processes: the package is checked
    /// against the schema first (nothing is sent if it fails), then each release is signed and
    /// recorded in its own transaction. Releases already imported are reported and skipped.
    ///
    /// Example: civitas ocds import releases-2019.json --key buyer.json
    ///   --node http://127.0.0.1:8080
    Import {
        /// The release package (JSON).
        file: PathBuf,
        #[command(flatten)]
        common: C,
    },
}

/// Largest package file read, in bytes.
const PACKAGE_MAX_BYTES: u64 = 64 * 1024 * 1024;

fn read_package(file: &Path) -> Result<serde_json::Value, String> {
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len();
    if size > PACKAGE_MAX_BYTES {
        return Err(format!(
            "{} is {size} bytes; packages up to {PACKAGE_MAX_BYTES} bytes are read (split it)",
            file.display()
        ));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))
}

/// The schema's verdict on `package`, as printed: the package's summary, or every problem and
/// a failure.
fn report(file: &Path, package: &serde_json::Value, json: bool) -> Result<Printed, QueryFailed> {
    match crate::ocds::validate_release_package(package) {
        Ok(()) => {
            if json {
                return Ok(Printed::Json(
                    serde_json::json!({ "valid": true, "issues": [] }),
                ));
            }
            let count = package["releases"].as_array().map_or(0, Vec::len);
            Ok(Printed::Text(format!(
                "{} is a valid OCDS 1.1 release package ({count} releases)\n",
                file.display()
            )))
        }
        Err(issues) => {
            let printed = if json {
                Printed::Json(serde_json::json!({ "valid": false, "issues": issues }))
            } else {
                let lines: String = issues
                    .iter()
                    .map(|issue| {
                        let at = if issue.path.is_empty() {
                            "/"
                        } else {
                            &issue.path
                        };
                        format!("{at}: {}\n", issue.message)
                    })
                    .collect();
                Printed::Text(lines)
            };
            Err(QueryFailed {
                message: format!(
                    "{} is not a valid OCDS 1.1 release package: {} problem(s){}",
                    file.display(),
                    issues.len(),
                    if issues.len() >= crate::ocds::ISSUES_MAX {
                        " (the first ones)"
                    } else {
                        ""
                    }
                ),
                printed: Some(printed),
            })
        }
    }
}

/// The instruction importing `release` (the `index`-th of its package).
fn import_instruction(
    index: usize,
    release: &serde_json::Value,
) -> Result<ProcurementInstruction, String> {
    let field = |name: &str| {
        release[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("release {index} has no {name}"))
    };
    let text = serde_json::to_string(release).map_err(|e| e.to_string())?;
    if text.len() > OCDS_RELEASE_MAX_BYTES {
        return Err(format!(
            "release {index} ({}) is {} bytes of JSON; the ledger takes releases up to {OCDS_RELEASE_MAX_BYTES} bytes",
            field("id").unwrap_or_default(),
            text.len()
        ));
    }
    let instruction = ProcurementInstruction::ImportRelease {
        ocid: field("ocid")?,
        release_id: field("id")?,
        date: field("date")?,
        release: text,
    };
    instruction
        .validate()
        .map_err(|e| format!("release {index} cannot be imported: {e}"))?;
    Ok(instruction)
}

impl<C: Args> ModuleMain<C> for ProcurementMain<C> {
    type Instruction = ProcurementInstruction;

    fn common(&self) -> Option<&C> {
        match self {
            Self::Ocds(OcdsCommand::Import { common, .. }) | Self::BidShare { common, .. } => {
                Some(common)
            }
            Self::Ocds(OcdsCommand::Validate { .. }) => None,
        }
    }

    fn run(
        self,
        console: &dyn Console,
        sender: &mut dyn Sender<ProcurementInstruction>,
    ) -> Result<Printed, QueryFailed> {
        match self {
            Self::BidShare {
                tender,
                bidder,
                file,
                ..
            } => Ok(Printed::Text(
                write_bid_share(console, tender, bidder, &file)? + "\n",
            )),
            Self::Ocds(OcdsCommand::Validate { file, json }) => {
                report(&file, &read_package(&file)?, json)
            }
            Self::Ocds(OcdsCommand::Import { file, .. }) => {
                let package = read_package(&file)?;
                // Nothing is sent unless the package is valid (its problems are printed).
                if let Printed::Text(valid) = report(&file, &package, false)? {
                    console.print(&valid);
                }
                let releases = package["releases"].as_array().cloned().unwrap_or_default();
                // Every release is checked before the first is sent.
                let instructions = releases
                    .iter()
                    .enumerate()
                    .map(|(i, r)| import_instruction(i, r))
                    .collect::<Result<Vec<_>, _>>()?;
                // The signing key is read once every release is checked.
                console.signer()?;
                let (mut imported, mut skipped) = (0, 0);
                for (i, instruction) in instructions.into_iter().enumerate() {
                    match sender.send(instruction) {
                        Ok(()) => imported += 1,
                        // Decided by the failure code, never by the wording of its message.
                        Err(failed) if failed.code.as_deref() == Some("release_exists") => {
                            console.note(&format!("release {i} was already imported; skipped"));
                            skipped += 1;
                        }
                        Err(failed) => {
                            return Err(QueryFailed::from(format!(
                                "release {i} was not imported ({imported} imported before it): {}",
                                failed.message
                            )));
                        }
                    }
                }
                Ok(Printed::Text(format!(
                    "imported {imported} release(s) from {}{}\n",
                    file.display(),
                    if skipped > 0 {
                        format!("; {skipped} were already on the ledger")
                    } else {
                        String::new()
                    }
                )))
            }
        }
    }
}
