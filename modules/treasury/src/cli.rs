//! `civitas tx treasury ...`: one subcommand per treasury instruction, with its fields as
//! options, so that officials never write JSON.
//!
//! Amounts are written in major units with their currency, exactly as the ledger prints them
//! (`"1200.00 EUR"`); accounts as their 64 hex characters. The options every transaction takes
//! (key, node, co-signers, ...) are the binary's `C`.

use civitas_primitives::crypto::AccountId;
use civitas_primitives::kit::args::{account, currency, money};
use civitas_primitives::kit::cli::{
    Console, ModuleCommand, ModuleQuery, Prepared, Printed, QueryFailed,
};
use civitas_primitives::money::{Currency, Money};
use civitas_treasury_types::{Direction, TreasuryInstruction};
use clap::{Args, Subcommand, ValueEnum};

/// Up or down, for the adjusting instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Way {
    /// Adds to the amount (raise, release).
    Increase,
    /// Takes from the amount (cut, take back).
    Decrease,
}

impl From<Way> for Direction {
    fn from(way: Way) -> Self {
        match way {
            Way::Increase => Direction::Increase,
            Way::Decrease => Direction::Decrease,
        }
    }
}

/// The treasury's instructions. `C` is the options every transaction takes.
#[derive(Subcommand, Debug)]
pub enum TreasuryCommand<C: Args> {
    /// Open a fiscal year in one currency (the finance authority).
    ///
    /// Example: civitas tx treasury open-year --year 2026 --currency EUR
    ///   --procurement-threshold "100000.00 EUR" --key finance.json
    OpenYear {
        /// The year, such as 2026.
        #[arg(long)]
        year: u32,
        /// The ISO 4217 code of every amount of the year, such as EUR.
        #[arg(long, value_parser = currency)]
        currency: Currency,
        /// Contracts at or above this value must go through an open tender; awards just
        /// below it are watched for splitting. In the year's currency, such as
        /// "100000.00 EUR".
        #[arg(long, value_parser = money)]
        procurement_threshold: Money,
        #[command(flatten)]
        common: C,
    },
    /// Close a fiscal year: no more appropriations, commitments or payments in it.
    ///
    /// Example: civitas tx treasury close-year --year 2025 --key finance.json
    CloseYear {
        /// The year.
        #[arg(long)]
        year: u32,
        #[command(flatten)]
        common: C,
    },
    /// Register a business's account as a vendor that can bid and be paid. Its name and
    /// registration are published, so the vendor's account co-signs (add `--cosign
    /// VENDOR_KEY`; required from protocol 3).
    ///
    /// Example: civitas tx treasury register-vendor
    ///   --account 2b1f0ac6e1c4f2a7d35d3bd2c1d0e7a8b9f60718293a4b5c6d7e8f9012345678 --name "Acme Works Ltd"
    ///   --registration "RC-2019-00417" --key finance.json
    RegisterVendor {
        /// The business's account (64 hex characters).
        #[arg(long, value_parser = account)]
        account: AccountId,
        /// Its legal name (a company's, never a person's: it is public record).
        #[arg(long)]
        name: String,
        /// Its public registration number.
        #[arg(long)]
        registration: String,
        #[command(flatten)]
        common: C,
    },
    /// Appropriate money to an agency's programme and economic classification for a year
    /// (the finance authority).
    ///
    /// Example: civitas tx treasury appropriate --year 2026 --agency health
    ///   --programme primary-care --classification 2211 --purpose "Medicines for clinics"
    ///   --amount "2500000.00 EUR" --key finance.json
    Appropriate {
        /// Fiscal year.
        #[arg(long)]
        year: u32,
        /// The agency that may spend it.
        #[arg(long)]
        agency: String,
        /// Programme code, such as primary-care.
        #[arg(long)]
        programme: String,
        /// Economic classification code, such as 2211 or capital-works.
        #[arg(long)]
        classification: String,
        /// What it is for.
        #[arg(long)]
        purpose: String,
        /// How much, such as "2500000.00 EUR".
        #[arg(long, value_parser = money)]
        amount: Money,
        #[command(flatten)]
        common: C,
    },
    /// Raise or lower an appropriation (a supplementary budget or a cut), with a reason. It
    /// never falls below what is allotted.
    ///
    /// Example: civitas tx treasury adjust-appropriation --appropriation 4 --way increase
    ///   --amount "150000.00 EUR" --reason "supplementary budget, law 2026/12" --key finance.json
    AdjustAppropriation {
        /// The appropriation's number.
        #[arg(long)]
        appropriation: u64,
        /// Up or down.
        #[arg(long, value_enum)]
        way: Way,
        /// By how much, with its currency: "1200.00 EUR".
        #[arg(long, value_parser = money)]
        amount: Money,
        /// Why, for the public record.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Release part of an appropriation for commitment, or take it back. Allotted never
    /// exceeds appropriated, nor falls below committed.
    ///
    /// Example: civitas tx treasury allot --appropriation 4 --way increase
    ///   --amount "600000.00 EUR" --reason "second quarter" --key finance.json
    Allot {
        /// The appropriation's number.
        #[arg(long)]
        appropriation: u64,
        /// Release (increase) or take back (decrease).
        #[arg(long, value_enum)]
        way: Way,
        /// How much, with its currency: "1200.00 EUR".
        #[arg(long, value_parser = money)]
        amount: Money,
        /// Why, such as "second quarter".
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Commit (obligate) money to a vendor, within what is allotted (the spending agency).
    ///
    /// Example: civitas tx treasury commit --appropriation 4
    ///   --vendor 2b1f0ac6e1c4f2a7d35d3bd2c1d0e7a8b9f60718293a4b5c6d7e8f9012345678 --amount "48000.00 EUR" --description "Vaccine fridges, 12 units" --key budget.json
    Commit {
        /// The appropriation charged.
        #[arg(long)]
        appropriation: u64,
        /// The vendor who will be paid (its account, 64 hex characters).
        #[arg(long, value_parser = account)]
        vendor: AccountId,
        /// How much, with its currency: "1200.00 EUR".
        #[arg(long, value_parser = money)]
        amount: Money,
        /// What for.
        #[arg(long)]
        description: String,
        #[command(flatten)]
        common: C,
    },
    /// Raise or lower a commitment, with a reason. Raised only within what is allotted;
    /// lowered never below what is paid.
    ///
    /// Example: civitas tx treasury adjust-commitment --commitment 9 --way decrease
    ///   --amount "4000.00 EUR" --reason "one unit not delivered" --key budget.json
    AdjustCommitment {
        /// The commitment's number.
        #[arg(long)]
        commitment: u64,
        /// Up or down.
        #[arg(long, value_enum)]
        way: Way,
        /// By how much, with its currency: "1200.00 EUR".
        #[arg(long, value_parser = money)]
        amount: Money,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
    /// Pay a vendor against a commitment, within what remains of it (a treasurer; above the
    /// policy's threshold a second treasurer co-signs with --cosign).
    ///
    /// Example: civitas tx treasury pay --commitment 3 --amount "1200.00 EUR"
    ///   --reference INV-2026-0042 --key treasurer.json
    Pay {
        /// The commitment paid.
        #[arg(long)]
        commitment: u64,
        /// How much, with its currency: "1200.00 EUR".
        #[arg(long, value_parser = money)]
        amount: Money,
        /// The vendor's invoice or other reference.
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        common: C,
    },
    /// Reverse a payment by a compensating entry (a payment made in error, a refund).
    ///
    /// Example: civitas tx treasury reverse-payment --payment 17 --reason "paid twice"
    ///   --key treasurer.json
    ReversePayment {
        /// The payment's number.
        #[arg(long)]
        payment: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
}

impl<C: Args> TreasuryCommand<C> {
    /// The instruction the command signs, and the transaction options; or why the options do
    /// not make one.
    pub fn into_instruction(self) -> Result<(TreasuryInstruction, C), String> {
        use TreasuryInstruction as T;
        Ok(match self {
            Self::OpenYear {
                year,
                currency,
                procurement_threshold,
                common,
            } => {
                if procurement_threshold.currency != currency {
                    return Err(format!(
                        "the procurement threshold is in {}; the year's amounts are in {currency}",
                        procurement_threshold.currency
                    ));
                }
                (
                    T::OpenYear {
                        year,
                        currency,
                        procurement_threshold: procurement_threshold.amount,
                    },
                    common,
                )
            }
            Self::CloseYear { year, common } => (T::CloseYear { year }, common),
            Self::RegisterVendor {
                account,
                name,
                registration,
                common,
            } => (
                T::RegisterVendor {
                    account,
                    name,
                    registration,
                },
                common,
            ),
            Self::Appropriate {
                year,
                agency,
                programme,
                classification,
                purpose,
                amount,
                common,
            } => (
                T::Appropriate {
                    year,
                    agency,
                    programme,
                    classification,
                    purpose,
                    amount,
                },
                common,
            ),
            Self::AdjustAppropriation {
                appropriation,
                way,
                amount,
                reason,
                common,
            } => (
                T::AdjustAppropriation {
                    appropriation,
                    direction: way.into(),
                    amount,
                    reason,
                },
                common,
            ),
            Self::Allot {
                appropriation,
                way,
                amount,
                reason,
                common,
            } => (
                T::Allot {
                    appropriation,
                    direction: way.into(),
                    amount,
                    reason,
                },
                common,
            ),
            Self::Commit {
                appropriation,
                vendor,
                amount,
                description,
                common,
            } => (
                T::Commit {
                    appropriation,
                    vendor,
                    amount,
                    description,
                },
                common,
            ),
            Self::AdjustCommitment {
                commitment,
                way,
                amount,
                reason,
                common,
            } => (
                T::AdjustCommitment {
                    commitment,
                    direction: way.into(),
                    amount,
                    reason,
                },
                common,
            ),
            Self::Pay {
                commitment,
                amount,
                reference,
                common,
            } => (
                T::Pay {
                    commitment,
                    amount,
                    reference,
                },
                common,
            ),
            Self::ReversePayment {
                payment,
                reason,
                common,
            } => (T::ReversePayment { payment, reason }, common),
        })
    }
}

impl<C: Args> ModuleCommand<C> for TreasuryCommand<C> {
    type Instruction = TreasuryInstruction;

    fn common(&self) -> &C {
        match self {
            Self::OpenYear { common, .. }
            | Self::CloseYear { common, .. }
            | Self::RegisterVendor { common, .. }
            | Self::Appropriate { common, .. }
            | Self::AdjustAppropriation { common, .. }
            | Self::Allot { common, .. }
            | Self::Commit { common, .. }
            | Self::AdjustCommitment { common, .. }
            | Self::Pay { common, .. }
            | Self::ReversePayment { common, .. } => common,
        }
    }

    fn prepare(self, _: &dyn Console) -> Result<(Prepared<TreasuryInstruction>, C), String> {
        let (instruction, common) = self.into_instruction()?;
        Ok((Prepared::sign(instruction), common))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_primitives::kit::cli::{TestCli, TestKey, examples};
    use clap::{CommandFactory, Parser};

    type Cli = TestCli<TreasuryCommand<TestKey>>;

    /// Every treasury instruction has a subcommand named after it, whose help explains every
    /// option and gives an example; the example makes that instruction, valid as written.
    #[test]
    fn every_instruction_has_a_subcommand_with_a_working_example() {
        let command = Cli::command();
        for (name, argv) in
            examples::<TreasuryInstruction>(&command, &["civitas", "tx", "treasury"], &[])
        {
            let cli = Cli::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("the example of {name} does not parse: {e}"));
            let (instruction, key) = cli.command.into_instruction().unwrap();
            assert!(!key.key.is_empty());
            assert_eq!(
                instruction.name(),
                format!("treasury.{}", name.replace('-', "_"))
            );
            instruction
                .validate()
                .unwrap_or_else(|e| panic!("the example of {name} is not valid: {e}"));
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named() {
        let refused = |argv: &[&str]| Cli::try_parse_from(argv).unwrap_err().to_string();
        let pay = [
            "civitas",
            "pay",
            "--commitment",
            "3",
            "--reference",
            "INV-1",
            "--key",
            "k",
        ];
        let error = refused(&[&pay[..], &["--amount", "1200.005 EUR"]].concat());
        assert!(
            error.contains("--amount") && error.contains("digits after the point"),
            "{error}"
        );
        let error = refused(&[&pay[..], &["--amount", "1200"]].concat());
        assert!(error.contains("such as \"1200.00 EUR\""), "{error}");
        let error = refused(&[
            "civitas",
            "commit",
            "--appropriation",
            "1",
            "--vendor",
            "acme",
            "--amount",
            "1.00 EUR",
            "--description",
            "x",
            "--key",
            "k",
        ]);
        assert!(error.contains("64 hex characters"), "{error}");
        let cli = Cli::try_parse_from([
            "civitas",
            "open-year",
            "--year",
            "2026",
            "--currency",
            "EUR",
            "--procurement-threshold",
            "100000 XOF",
            "--key",
            "k",
        ])
        .unwrap();
        let error = cli.command.into_instruction().unwrap_err();
        assert!(error.contains("XOF") && error.contains("EUR"), "{error}");
    }
}

/// Treasury's reads. `C` is the options every read takes (the node).
#[derive(Subcommand, Debug)]
pub enum TreasuryQuery<C: Args> {
    /// Public spending of a fiscal year: appropriated, allotted, committed and paid, overall or
    /// by agency, programme, classification, vendor or month. Each figure has a proof bundle
    /// (`civitas proof state treasury/total <year>/<dimension>/<value>`).
    ///
    /// Example: civitas query spending 2026 --by agency
    Spending {
        /// The fiscal year.
        year: u32,
        /// Break the year down by agency, programme, classification, vendor or month.
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        common: C,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

impl<C: Args> ModuleQuery<C> for TreasuryQuery<C> {
    fn common(&self) -> &C {
        match self {
            Self::Spending { common, .. } => common,
        }
    }

    fn run(self, console: &dyn Console) -> Result<Printed, QueryFailed> {
        let Self::Spending { year, by, json, .. } = self;
        let (rows, what) = match &by {
            None => {
                let value = console.get(&format!("/v1/treasury/totals/{year}?limit=1"))?;
                (vec![value["total"].clone()], "whole year".to_string())
            }
            Some(dimension) => {
                let value = console.get(&format!("/v1/treasury/breakdown/{year}/{dimension}"))?;
                (
                    value["totals"].as_array().cloned().unwrap_or_default(),
                    format!("by {dimension}"),
                )
            }
        };
        if json {
            return Ok(Printed::Json(
                serde_json::json!({ "year": year, "totals": rows }),
            ));
        }
        let text = |value: &serde_json::Value| value["text"].as_str().unwrap_or("-").to_string();
        let mut out = format!(
            "fiscal year {year}, {what}\n{:<28} {:>20} {:>20} {:>20} {:>20}\n",
            "", "appropriated", "allotted", "committed", "paid"
        );
        for row in &rows {
            let name = match row["value"].as_str() {
                Some("") | None => "total",
                Some(v) => v,
            };
            out.push_str(&format!(
                "{:<28} {:>20} {:>20} {:>20} {:>20}\n",
                name,
                text(&row["appropriated"]),
                text(&row["allotted"]),
                text(&row["committed"]),
                text(&row["paid"])
            ));
        }
        out.push_str(&format!(
            "proofs: civitas proof state treasury/total <id> (ids: {year}/all, {year}/<dimension>/<value>)\n"
        ));
        Ok(Printed::Text(out))
    }
}
