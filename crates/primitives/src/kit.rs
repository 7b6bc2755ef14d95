//! What a module's vocabulary declares so that the ledger can assemble it.
//!
//! A module's instructions are one enum implementing [`Operations`], its events one enum
//! implementing [`Events`]. The ledger's registration list (`civitas_core::modules`) gives each
//! module a tag and builds the ledger's `Instruction` and `Event` enums from these, one variant
//! per module: typed, matched exhaustively, and encoded canonically.

use crate::codec::DecodeError;
use bytes::Buf as _;
use commonware_codec::{Buf, EncodeSize, Write};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// An enum encoded as a tag byte, then the fields of the variant the tag names.
///
/// [`codec_enum!`](crate::codec_enum) implements it.
pub trait Tagged: Sized + Write + EncodeSize {
    /// The variants' names, in declaration order (`OpenYear`, `CloseYear`, ...): what a
    /// surface built for every variant (a CLI subcommand each) is checked against.
    const VARIANTS: &'static [&'static str];

    /// Reads the variant named by `tag` (already read from `buf`).
    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, commonware_codec::Error>;
}

/// What every type of a module's vocabulary is: a tagged canonical encoding ([`Tagged`]), a
/// JSON shape and its OpenAPI schema (the doc comments are its descriptions).
pub trait Vocabulary:
    Tagged
    + Clone
    + Debug
    + PartialEq
    + Eq
    + Serialize
    + DeserializeOwned
    + utoipa::ToSchema
    + Send
    + Sync
    + 'static
{
}

impl<T> Vocabulary for T where
    T: Tagged
        + Clone
        + Debug
        + PartialEq
        + Eq
        + Serialize
        + DeserializeOwned
        + utoipa::ToSchema
        + Send
        + Sync
        + 'static
{
}

/// A module's instructions: the operation byte and fields (as [`Tagged`]), a JSON shape tagged
/// `"op"` with its OpenAPI schema, a name and the rules that need no state.
pub trait Operations: Vocabulary {
    /// The sentences of the module's failure codes: `(code, template)`, as
    /// `civitas_core::messages` renders them outside consensus.
    const MESSAGES: &'static [(&'static str, &'static str)] = &[];

    /// `module.operation`, as used in receipts, errors and policies (`treasury.pay`).
    fn name(&self) -> &'static str;

    /// What a protocol version admits this instruction as (`civitas_core::protocol`): its
    /// name, or a finer one where one operation carries several kinds of change (a governance
    /// proposal is `governance.propose.<action>`), so that a new kind is refused by every
    /// version released before it.
    fn feature(&self) -> &'static str {
        self.name()
    }

    /// Checks the rules that need no state: lengths, identifiers, non-empty text.
    fn validate(&self) -> Result<(), DecodeError>;

    /// The accounts the instruction names (a vendor paid, an account whose roles change), in
    /// field order, not the signer's own: the read model lists the transaction under each.
    /// Every variant answers, so a new one decides whom it concerns.
    fn accounts(&self) -> Vec<crate::crypto::AccountId>;

    /// The instruction's fields where a person types text that goes on the public ledger (a
    /// title, a reason, a description), each with how it is read: from protocol 3 a
    /// transaction whose public text has the shape of personal data is refused
    /// ([`crate::personal`]). Every variant answers, so a new field decides whether people
    /// type into it.
    fn public_text(&self) -> Vec<crate::personal::PublicText<'_>>;
}

/// Which tag bytes of the ledger's event encoding a module's events use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventTags {
    /// One tag of the module's own, followed by the module's event encoding (its variant byte,
    /// then fields). Every new module is registered this way, as treasury (11) and procurement
    /// (12) were.
    Own(u8),
    /// Identity, notary and governance events share one tag space: the module's variant byte
    /// *is* the ledger's event tag, one of these (each variant's, in declaration order). Kept
    /// so that receipts made before the kit decode unchanged.
    Shared(&'static [u8]),
}

/// A module's events: encoded as [`Tagged`], a JSON shape tagged `"type"` with names unique
/// across the ledger and its OpenAPI schema, and the tags they take.
pub trait Events: Vocabulary {
    /// The event tags of this module.
    const TAGS: EventTags;

    /// The account whose signing keys or standing this event changed, if any: transactions
    /// it has waiting are checked again, and dropped if they no longer authenticate.
    fn changes_signer(&self) -> Option<crate::crypto::AccountId> {
        None
    }

    /// The accounts the event names, in field order: each sees it in its inbox, and the read
    /// model lists it under each. Every variant answers, so a new one decides whom it concerns.
    fn accounts(&self) -> Vec<crate::crypto::AccountId>;
}

/// Decodes a whole [`Tagged`] value from `bytes`: its tag, its variant's fields, and nothing
/// after them.
pub fn decode_tagged<T: Tagged>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut buf = commonware_codec::Copying(bytes);
    let tag = <u8 as commonware_codec::ReadExt>::read(&mut buf)?;
    let value = T::read_tagged(tag, &mut buf)?;
    if buf.has_remaining() {
        return Err(commonware_codec::Error::ExtraData(buf.remaining()).into());
    }
    Ok(value)
}

/// A variant's name as a command-line word: `AdjustAppropriation` → `adjust-appropriation`.
pub fn kebab(variant: &str) -> String {
    let mut word = String::with_capacity(variant.len() + 4);
    for (i, c) in variant.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            word.push('-');
        }
        word.push(c.to_ascii_lowercase());
    }
    word
}

/// The words of the example in a command's help (`Example: civitas tx treasury pay ...`, up to
/// the end of its paragraph), split as a shell would split them with "double quotes" kept
/// whole; `None` if the help has no example.
pub fn example_words(help: &str) -> Option<Vec<String>> {
    let example = help.split("Example: ").nth(1)?;
    let example = example.split("\n\n").next().unwrap_or_default();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in example.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Some(words)
}

/// Readers of command-line values every module's commands share: each takes the text as
/// typed and gives the value or a sentence saying what was expected.
pub mod args {
    use crate::crypto::AccountId;
    use crate::hash::Hash32;
    use crate::money::{Currency, Money};
    use crate::time::TimestampMs;

    /// An amount with its currency, as the ledger prints it: `"1200.00 EUR"`, exactly.
    pub fn money(text: &str) -> Result<Money, String> {
        text.parse::<Money>().map_err(|e| e.to_string())
    }

    /// An ISO 4217 currency code, such as `EUR`.
    pub fn currency(text: &str) -> Result<Currency, String> {
        Currency::parse(text.trim()).map_err(|e| e.to_string())
    }

    /// An account id, 64 hex characters.
    pub fn account(text: &str) -> Result<AccountId, String> {
        AccountId::from_hex(text.trim())
            .map_err(|_| format!("{text:?} is not an account id (64 hex characters)"))
    }

    /// A UTC time (`2027-01-31T17:00:00Z`) or a date alone (00:00 UTC that day).
    pub fn time(text: &str) -> Result<TimestampMs, String> {
        TimestampMs::parse_rfc3339(text)
    }

    /// A document given as its SHA-256 in hex, or as a file, hashed here (the file never
    /// leaves this machine).
    pub fn document(arg: &str) -> Result<Hash32, String> {
        if arg.len() == 64
            && let Ok(hash) = Hash32::from_hex(arg)
        {
            return Ok(hash);
        }
        let bytes = std::fs::read(arg).map_err(|e| {
            format!("{arg} is neither a 64-character SHA-256 nor a readable file: {e}")
        })?;
        Ok(Hash32::sha256(&bytes))
    }
}

/// A module's command line (the `clap` feature): what its subcommands ask of the binary that
/// runs them, and what its tests check them with.
///
/// A module defines one `clap` subcommand enum, generic over the options every transaction
/// takes (`C`, which the binary supplies: key, node, co-signers, ...), implements
/// [`ModuleCommand`] for it, and names it with [`ModuleCli`] on its module struct; the
/// binary's `civitas tx` is assembled from the registration list.
#[cfg(feature = "clap")]
pub mod cli {
    use super::{Tagged, example_words, kebab};
    use crate::crypto::AccountId;

    /// Why a read from the node failed: the HTTP status when the node answered, and what it
    /// said.
    #[derive(Clone, Debug)]
    pub struct ReadError {
        /// The HTTP status (`404` for a record that does not exist), if the node answered.
        pub status: Option<u16>,
        /// What went wrong.
        pub message: String,
    }

    impl std::fmt::Display for ReadError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.message)
        }
    }

    /// What a module's command may ask of the command line running it, before it signs.
    pub trait Console {
        /// The node read from, as the person named it (`http://127.0.0.1:8080`).
        fn node(&self) -> &str;
        /// Reads a JSON document from the node's API (`/v1/governance`).
        fn get(&self, path: &str) -> Result<serde_json::Value, ReadError>;
        /// The account the signing key (`--key`) signs for.
        fn signer(&self) -> Result<AccountId, String>;
        /// Asks the person at the terminal; `yes` answers for scripts. Without a terminal and
        /// without `yes`, refuses rather than guess.
        fn confirm(&self, question: &str, yes: bool) -> Result<(), String>;
        /// Tells the person something, on standard error (whatever the output format).
        fn note(&self, line: &str);
        /// The decryption keys of the signing key file (`--key`), newest first: what opens a
        /// value sealed to the signer.
        fn decryption_keys(&self) -> Result<Vec<crate::seal::DecryptionKey>, String> {
            Err("this command has no key file to open sealed values with".into())
        }
        /// Prints `text` on standard output now, before what the command goes on to do (a
        /// package found valid, before its releases are sent).
        fn print(&self, text: &str) {
            print!("{text}");
        }
    }

    /// Run once the transaction is signed (final, submitted, or written for co-signers), with
    /// the account that signed it; returns a line to print (a key file updated after a key
    /// rotation, for instance).
    pub type After = Box<dyn FnOnce(AccountId) -> Result<String, String>>;

    /// What a command signs: the instruction, and what to do once it is final.
    pub struct Prepared<I> {
        /// The instruction.
        pub instruction: I,
        /// What to do once it is final, if anything.
        pub after: Option<After>,
    }

    impl<I> Prepared<I> {
        /// Just the instruction.
        pub fn sign(instruction: I) -> Self {
            Self {
                instruction,
                after: None,
            }
        }
    }

    /// A module's subcommands, as the binary runs them.
    pub trait ModuleCommand<C>: Sized {
        /// The module's instruction type.
        type Instruction;
        /// The options every transaction takes, as given.
        fn common(&self) -> &C;
        /// Checks what can be checked before signing (reading the node through `console` if
        /// needed) and returns the instruction to sign, with the options.
        fn prepare(self, console: &dyn Console)
        -> Result<(Prepared<Self::Instruction>, C), String>;
    }

    /// Names a module's command types (implemented by the module's unit struct).
    pub trait ModuleCli {
        /// The module's subcommands, generic over the options every transaction takes.
        type Command<C: clap::Args>: clap::Subcommand + ModuleCommand<C>;
        /// The module's reads (`civitas query ...`), generic over the options every read
        /// takes (the node); [`NoCommands`] for a module without its own.
        type Query<C: clap::Args>: clap::Subcommand + ModuleQuery<C>;
        /// The module's proof bundles (`civitas proof ...`), generic over the options every
        /// fetch takes (the node, the file to write); [`NoCommands`] for a module whose
        /// records are proven with `civitas proof state` alone.
        type Proof<C: clap::Args>: clap::Subcommand + ModuleProof<C>;
        /// The module's own top-level commands (procurement's `civitas ocds ...`), generic
        /// over the options every transaction takes; [`NoCommands`] for a module without.
        type Main<C: clap::Args>: clap::Subcommand + ModuleMain<C>;
    }

    /// Why a transaction a module's command sent did not succeed: the failure code when the
    /// ledger recorded one (protocol: act on it), and the message (for people).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct SendFailed {
        /// The failure code, such as `release_exists`; `None` when the transaction did not
        /// reach a block (refused by the node, no answer, ...).
        pub code: Option<String>,
        /// What went wrong.
        pub message: String,
    }

    /// Signs, submits and waits for a module's instructions, one transaction each, with the
    /// options every transaction takes.
    pub trait Sender<I> {
        /// Sends `instruction`: `Ok` once it is final and succeeded, or once it is written
        /// (`--out`) or submitted without waiting (`--no-wait`) when those options are given.
        fn send(&mut self, instruction: I) -> Result<(), SendFailed>;
    }

    /// A module's own top-level command, as the binary runs it: `civitas <command> ...`.
    pub trait ModuleMain<C>: Sized {
        /// The module's instruction type.
        type Instruction;
        /// The options every transaction takes, when the command sends transactions.
        fn common(&self) -> Option<&C>;
        /// Runs the command: reads through `console`, sends through `sender` (which refuses if
        /// the command has no [`common`](Self::common) options), and says what to print.
        fn run(
            self,
            console: &dyn Console,
            sender: &mut dyn Sender<Self::Instruction>,
        ) -> Result<Printed, QueryFailed>;
    }

    /// A module's proof bundles, as the binary fetches them: `civitas proof <name> ...`.
    pub trait ModuleProof<C>: Sized {
        /// The options every fetch takes, as given.
        fn common(&self) -> &C;
        /// The API path of the bundle asked for (`/v1/proofs/notary/<sha256>`), or why it
        /// cannot be named (a file that cannot be read).
        fn path(&self) -> Result<String, String>;
    }

    /// What a read prints: lines for a person, or JSON for scripts (`--json`).
    #[derive(Clone, Debug, PartialEq)]
    pub enum Printed {
        /// Text, printed as it is.
        Text(String),
        /// JSON, printed prettily.
        Json(serde_json::Value),
    }

    /// Why a read failed: what to say, and what to print first for scripts (a record's
    /// absence as JSON, for instance).
    #[derive(Clone, Debug, PartialEq)]
    pub struct QueryFailed {
        /// What went wrong, for the person.
        pub message: String,
        /// Printed before the message, if anything.
        pub printed: Option<Printed>,
    }

    impl From<ReadError> for QueryFailed {
        fn from(e: ReadError) -> Self {
            Self {
                message: e.message,
                printed: None,
            }
        }
    }

    impl From<String> for QueryFailed {
        fn from(message: String) -> Self {
            Self {
                message,
                printed: None,
            }
        }
    }

    /// A module's reads, as the binary runs them: `civitas query <name> ...` for each of the
    /// module's subcommands, beside the ledger's own (`tx`, `block`, `state`, ...).
    pub trait ModuleQuery<C>: Sized {
        /// The options every read takes, as given.
        fn common(&self) -> &C;
        /// Reads the node through `console` and says what to print.
        fn run(self, console: &dyn Console) -> Result<Printed, QueryFailed>;
    }

    /// The reads or proofs of a module that has none of its own (its records are still read
    /// with `civitas query state <space> <id>` and proven with `civitas proof state`): no
    /// subcommand.
    #[derive(Debug)]
    pub enum NoCommands<C> {
        #[doc(hidden)]
        Never(std::convert::Infallible, std::marker::PhantomData<C>),
    }

    impl<C> clap::FromArgMatches for NoCommands<C> {
        fn from_arg_matches(_: &clap::ArgMatches) -> Result<Self, clap::Error> {
            Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))
        }

        fn update_from_arg_matches(&mut self, _: &clap::ArgMatches) -> Result<(), clap::Error> {
            match *self {
                Self::Never(never, _) => match never {},
            }
        }
    }

    impl<C> clap::Subcommand for NoCommands<C> {
        fn augment_subcommands(command: clap::Command) -> clap::Command {
            command
        }

        fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
            command
        }

        fn has_subcommand(_: &str) -> bool {
            false
        }
    }

    impl<C> ModuleProof<C> for NoCommands<C> {
        fn common(&self) -> &C {
            match *self {
                Self::Never(never, _) => match never {},
            }
        }

        fn path(&self) -> Result<String, String> {
            match *self {
                Self::Never(never, _) => match never {},
            }
        }
    }

    impl<C> ModuleMain<C> for NoCommands<C> {
        type Instruction = std::convert::Infallible;

        fn common(&self) -> Option<&C> {
            match *self {
                Self::Never(never, _) => match never {},
            }
        }

        fn run(
            self,
            _: &dyn Console,
            _: &mut dyn Sender<Self::Instruction>,
        ) -> Result<Printed, QueryFailed> {
            match self {
                Self::Never(never, _) => match never {},
            }
        }
    }

    impl<C> ModuleQuery<C> for NoCommands<C> {
        fn common(&self) -> &C {
            match *self {
                Self::Never(never, _) => match never {},
            }
        }

        fn run(self, _: &dyn Console) -> Result<Printed, QueryFailed> {
            match self {
                Self::Never(never, _) => match never {},
            }
        }
    }

    /// The options a binary adds to every transaction command, reduced to the key.
    #[derive(clap::Args, Debug)]
    pub struct TestKey {
        /// Key file of the signing account.
        #[arg(long)]
        pub key: String,
    }

    /// A command line made of one module's subcommands.
    #[derive(clap::Parser, Debug)]
    pub struct TestCli<S: clap::Subcommand> {
        /// The module's subcommand.
        #[command(subcommand)]
        pub command: S,
    }

    /// Checks that every variant of `T` not listed in `elsewhere` has a subcommand of
    /// `command` named after it (`AdjustAppropriation` → `adjust-appropriation`), with help on
    /// every option and an example in its long help that starts with `prefix` and runs that
    /// subcommand; returns each subcommand's example, `prefix` replaced by the program name.
    /// Panics, saying what is missing, otherwise.
    pub fn examples<T: Tagged>(
        command: &clap::Command,
        prefix: &[&str],
        elsewhere: &[&str],
    ) -> Vec<(String, Vec<String>)> {
        T::VARIANTS
            .iter()
            .filter(|variant| !elsewhere.contains(variant))
            .map(|variant| {
                let name = kebab(variant);
                let argv = example_words_of(command, &name, prefix);
                (name, argv)
            })
            .collect()
    }

    /// `argv` with every word (or comma-separated part of a word) that is one of `files`
    /// replaced by that file's path in `dir`: the files an example names (`deed.pdf`,
    /// `bob.json`), made by the test in a folder of its own.
    pub fn in_dir(argv: Vec<String>, dir: &std::path::Path, files: &[&str]) -> Vec<String> {
        argv.into_iter()
            .map(|word| {
                word.split(',')
                    .map(|part| {
                        if files.contains(&part) {
                            dir.join(part).to_string_lossy().into_owned()
                        } else {
                            part.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    /// Checks that `command` has a subcommand `name` with help on every option and an example
    /// in its long help that starts with `prefix` and runs that subcommand; returns the
    /// example's words, `prefix` replaced by the program name. Panics, saying what is missing,
    /// otherwise.
    pub fn example_words_of(command: &clap::Command, name: &str, prefix: &[&str]) -> Vec<String> {
        let sub = command
            .find_subcommand(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"));
        let help = sub
            .get_long_about()
            .unwrap_or_else(|| panic!("{name} has no long help"))
            .to_string();
        for arg in sub.get_arguments() {
            assert!(
                arg.get_help().is_some(),
                "{name} --{} has no help",
                arg.get_id()
            );
        }
        let words = example_words(&help).unwrap_or_else(|| panic!("{name} has no example: {help}"));
        assert!(
            words
                .iter()
                .map(String::as_str)
                .take(prefix.len())
                .eq(prefix.iter().copied()),
            "the example of {name} does not start with {prefix:?}: {help}"
        );
        let mut argv = vec!["civitas".to_string()];
        argv.extend(words.into_iter().skip(prefix.len()));
        assert_eq!(
            argv.get(1).map(String::as_str),
            Some(name),
            "the example of {name} runs another command"
        );
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_words() {
        assert_eq!(kebab("AdjustAppropriation"), "adjust-appropriation");
        assert_eq!(kebab("Pay"), "pay");
        assert_eq!(
            example_words(
                "Pay.\n\nExample: civitas tx treasury pay --amount \"1.00 EUR\"\n  --key k.json\n\nMore."
            ),
            Some(
                [
                    "civitas", "tx", "treasury", "pay", "--amount", "1.00 EUR", "--key", "k.json"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        assert_eq!(example_words("no example"), None);
    }
}
