//! `civitas tx notices ...`: one subcommand per notices instruction.
//!
//! A notice's text is named by its file (hashed on this machine; the file is never sent) or by
//! its SHA-256 in hex. The options every transaction takes (key, node, co-signers, ...) are the
//! binary's `C`.

use civitas_core::hash::Hash32;
use civitas_core::kit::args::{document, time};
use civitas_core::notices::NoticesInstruction;
use civitas_core::time::TimestampMs;
use civitas_primitives::kit::cli::{Console, ModuleCommand, Prepared};
use clap::{Args, Subcommand};

/// The notices' instructions. `C` is the options every transaction takes.
#[derive(Subcommand, Debug)]
pub enum NoticesCommand<C: Args> {
    /// Publish a notice of your agency: the fingerprint of its text goes on the ledger, the
    /// text stays with you (publishers and admins).
    ///
    /// Example: civitas tx notices publish hearing.txt --category hearing
    ///   --title "Public hearing on the Northfield clinic site" --effective 2027-03-15T18:00:00Z
    ///   --key bob.json
    Publish {
        /// The notice's full text (or its SHA-256 in hex).
        #[arg(value_parser = document)]
        file: Hash32,
        /// bylaw, decision, hearing, consultation or closure.
        #[arg(long)]
        category: String,
        /// The title, as published. Public: never a person's name.
        #[arg(long)]
        title: String,
        /// When it takes effect (or the hearing takes place): a UTC time or a date.
        #[arg(long, value_parser = time)]
        effective: TimestampMs,
        /// When it stops applying, if it does: a UTC time or a date.
        #[arg(long, value_parser = time)]
        expires: Option<TimestampMs>,
        #[command(flatten)]
        common: C,
    },
    /// Withdraw a notice of your agency, giving a reason.
    ///
    /// Example: civitas tx notices withdraw 3 --reason "the hearing moved to 22 March"
    ///   --key bob.json
    Withdraw {
        /// The notice's number.
        notice: u64,
        /// Why; public and permanent (withdrawing keeps the notice on record): never a
        /// person's name.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
}

impl<C: Args> NoticesCommand<C> {
    /// The instruction the command signs, and the transaction options.
    pub fn into_instruction(self) -> (NoticesInstruction, C) {
        match self {
            Self::Publish {
                file,
                category,
                title,
                effective,
                expires,
                common,
            } => (
                NoticesInstruction::Publish {
                    category,
                    title,
                    text: file,
                    effective,
                    expires,
                },
                common,
            ),
            Self::Withdraw {
                notice,
                reason,
                common,
            } => (NoticesInstruction::Withdraw { notice, reason }, common),
        }
    }
}

impl<C: Args> ModuleCommand<C> for NoticesCommand<C> {
    type Instruction = NoticesInstruction;

    fn common(&self) -> &C {
        match self {
            Self::Publish { common, .. } | Self::Withdraw { common, .. } => common,
        }
    }

    fn prepare(self, console: &dyn Console) -> Result<(Prepared<NoticesInstruction>, C), String> {
        let (instruction, common) = self.into_instruction();
        if let NoticesInstruction::Publish { text, .. } = &instruction {
            console.note(&format!("text SHA-256: {text}"));
        }
        Ok((Prepared::sign(instruction), common))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::kit::Operations;
    use civitas_core::kit::cli::{TestCli, TestKey, examples, in_dir};
    use clap::{CommandFactory, Parser};

    type Cli = TestCli<NoticesCommand<TestKey>>;

    /// Every notices instruction has a subcommand named after it, whose help explains every
    /// option and gives an example; the example (its file made here) makes that instruction,
    /// valid as written.
    #[test]
    fn every_instruction_has_a_subcommand_with_a_working_example() {
        let dir = std::env::temp_dir().join(format!("civitas-notices-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("hearing.txt");
        std::fs::write(&file, b"a hearing").unwrap();
        let command = Cli::command();
        for (name, argv) in
            examples::<NoticesInstruction>(&command, &["civitas", "tx", "notices"], &[])
        {
            let argv = in_dir(argv, &dir, &["hearing.txt"]);
            let cli = Cli::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("the example of {name} does not parse: {e}"));
            let (instruction, key) = cli.command.into_instruction();
            assert!(!key.key.is_empty());
            assert_eq!(instruction.name(), format!("notices.{name}"));
            instruction
                .validate()
                .unwrap_or_else(|e| panic!("the example of {name} is not valid: {e}"));
            if let NoticesInstruction::Publish { text, .. } = instruction {
                assert_eq!(text, Hash32::sha256(b"a hearing"));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_values_are_refused_with_the_value_named() {
        let refused = |argv: &[&str]| Cli::try_parse_from(argv).unwrap_err().to_string();
        let hash = "ab".repeat(32);
        let error = refused(&[
            "civitas",
            "publish",
            &hash,
            "--category",
            "hearing",
            "--title",
            "t",
            "--effective",
            "next tuesday",
            "--key",
            "k",
        ]);
        assert!(error.contains("next tuesday"), "{error}");
        let error = refused(&[
            "civitas", "withdraw", "three", "--reason", "r", "--key", "k",
        ]);
        assert!(error.contains("three"), "{error}");
    }
}
