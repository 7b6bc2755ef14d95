//! `civitas tx identity ...`: one subcommand per identity instruction.
//!
//! Keys are named by their hex public key or by a key file; accounts by their 64 hex
//! characters. The options every transaction takes (key, node, co-signers, ...) are the
//! binary's `C`.

use civitas_core::crypto::{AccountId, PublicKey};
use civitas_core::identity::IdentityInstruction;
use civitas_core::keyfile::{self, encryption_key_arg, public_key_arg};
use civitas_core::seal::EncryptionKey;
use civitas_primitives::kit::args::account;
use civitas_primitives::kit::cli::{Console, ModuleCommand, Prepared};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// The identity module's instructions. `C` is the options every transaction takes.
#[derive(Subcommand, Debug)]
pub enum IdentityCommand<C: Args> {
    /// An agency admin registers an official of the admin's agency.
    ///
    /// Example: civitas tx identity register-official --key devnet/keys/finance.json
    ///   --official-key bob.json --agency finance --name "Bob Martin" --roles notary
    RegisterOfficial {
        /// The official's public key (hex or key file).
        #[arg(long, value_parser = public_key_arg)]
        official_key: PublicKey,
        /// The agency (must be the admin's).
        #[arg(long)]
        agency: String,
        /// The official's name as it appears on their acts (public).
        #[arg(long)]
        name: String,
        /// Comma-separated roles, such as notary,registrar.
        #[arg(long, value_delimiter = ',', default_value = "")]
        roles: Vec<String>,
        #[command(flatten)]
        common: C,
    },
    /// An admin or registrar registers a citizen's account (key only, no personal data).
    ///
    /// Example: civitas tx identity register-citizen --key devnet/keys/finance.json
    ///   --citizen-key alice.json
    RegisterCitizen {
        /// The citizen's public key (hex or key file).
        #[arg(long, value_parser = public_key_arg)]
        citizen_key: PublicKey,
        #[command(flatten)]
        common: C,
    },
    /// An agency admin replaces an official's roles.
    ///
    /// Example: civitas tx identity set-roles --key devnet/keys/finance.json
    ///   --account 5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c
    ///   --roles notary,registrar
    SetRoles {
        /// The official's account id.
        #[arg(long, value_parser = account)]
        account: AccountId,
        /// Comma-separated roles (empty for none).
        #[arg(long, value_delimiter = ',', default_value = "")]
        roles: Vec<String>,
        #[command(flatten)]
        common: C,
    },
    /// Replace the signing account's key with the key in NEW_KEY_FILE; the old key stops
    /// working.
    ///
    /// Example: civitas tx identity rotate-key --key bob.json --new-key bob-2026.json
    RotateKey {
        /// Key file holding the new key (created with `civitas keys new`); it is updated to
        /// record the account it now signs for.
        #[arg(long)]
        new_key: PathBuf,
        #[command(flatten)]
        common: C,
    },
    /// Replace the signing account's keys with several, of which THRESHOLD must sign each
    /// transaction from then on (sign this one with enough of the current keys, using
    /// --cosign).
    ///
    /// Example: civitas tx identity set-keys --key treasury.json
    ///   --keys treasury.json,treasury-2.json,treasury-3.json --threshold 2
    SetKeys {
        /// Comma-separated keys (key files or hex public keys), 1 to 8.
        #[arg(long, value_delimiter = ',', required = true, value_parser = public_key_arg)]
        keys: Vec<PublicKey>,
        /// How many of them must sign.
        #[arg(long)]
        threshold: u8,
        #[command(flatten)]
        common: C,
    },
    /// Register the encryption key that personal data and sealed bids are encrypted to for
    /// the signing account (protocol 3); it replaces the one registered before.
    ///
    /// Example: civitas tx identity set-encryption-key --encryption-key alice.json
    ///   --key alice.json
    SetEncryptionKey {
        /// The encryption key (hex, or a key file whose newest encryption key is taken).
        #[arg(long, value_parser = encryption_key_arg)]
        encryption_key: EncryptionKey,
        #[command(flatten)]
        common: C,
    },
    /// A registrar starts giving a new key to an account whose holder lost its keys, after
    /// checking the holder's identity in person (protocol 3). It takes effect only when
    /// completed after the delay; until then the account's keys, or another registrar, can
    /// cancel it.
    ///
    /// The holder makes its new key on its own device (`civitas keys new`) and shows the
    /// registrar only the public key; once the recovery completes it records the account in its
    /// key file (`civitas keys set-account`).
    ///
    /// Example: civitas tx identity recover-key --key registrar.json
    ///   --account 5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c
    ///   --new-key 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29
    ///   --delay-hours 72
    RecoverKey {
        /// The account to recover.
        #[arg(long, value_parser = account)]
        account: AccountId,
        /// The holder's new public key (hex, or a file holding it); never its key file.
        #[arg(long, value_parser = public_key_arg)]
        new_key: PublicKey,
        /// Hours of block time the holder has to object (the default policies ask 72 or
        /// more).
        #[arg(long, default_value_t = 72)]
        delay_hours: u32,
        #[command(flatten)]
        common: C,
    },
    /// Cancel a key recovery under way: signed by the account itself (it still has its keys,
    /// so the recovery is not its own) or by a registrar.
    ///
    /// Example: civitas tx identity cancel-recovery --key alice.json
    ///   --account 5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c
    CancelRecovery {
        /// The account whose recovery is cancelled.
        #[arg(long, value_parser = account)]
        account: AccountId,
        #[command(flatten)]
        common: C,
    },
    /// Complete a key recovery whose delay has passed: its new key becomes the account's only
    /// key.
    ///
    /// Example: civitas tx identity complete-recovery --key registrar.json
    ///   --account 5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c
    CompleteRecovery {
        /// The account.
        #[arg(long, value_parser = account)]
        account: AccountId,
        #[command(flatten)]
        common: C,
    },
    /// An agency admin deactivates an official.
    ///
    /// Example: civitas tx identity deactivate --key devnet/keys/finance.json
    ///   --account 5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c
    ///   --reason "left the ministry"
    Deactivate {
        /// The account id.
        #[arg(long, value_parser = account)]
        account: AccountId,
        /// Why; public.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        common: C,
    },
}

/// Roles as given, without blanks.
fn clean_roles(roles: Vec<String>) -> Vec<String> {
    roles
        .into_iter()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

impl<C: Args> ModuleCommand<C> for IdentityCommand<C> {
    type Instruction = IdentityInstruction;

    fn common(&self) -> &C {
        match self {
            Self::RegisterOfficial { common, .. }
            | Self::RegisterCitizen { common, .. }
            | Self::SetRoles { common, .. }
            | Self::RotateKey { common, .. }
            | Self::SetKeys { common, .. }
            | Self::SetEncryptionKey { common, .. }
            | Self::RecoverKey { common, .. }
            | Self::CancelRecovery { common, .. }
            | Self::CompleteRecovery { common, .. }
            | Self::Deactivate { common, .. } => common,
        }
    }

    fn prepare(self, _: &dyn Console) -> Result<(Prepared<IdentityInstruction>, C), String> {
        use IdentityInstruction as I;
        Ok(match self {
            Self::RegisterOfficial {
                official_key,
                agency,
                name,
                roles,
                common,
            } => (
                Prepared::sign(I::RegisterOfficial {
                    key: official_key,
                    agency,
                    name,
                    roles: clean_roles(roles),
                }),
                common,
            ),
            Self::RegisterCitizen {
                citizen_key,
                common,
            } => (
                Prepared::sign(I::RegisterCitizen { key: citizen_key }),
                common,
            ),
            Self::SetRoles {
                account,
                roles,
                common,
            } => (
                Prepared::sign(I::SetRoles {
                    account,
                    roles: clean_roles(roles),
                }),
                common,
            ),
            Self::RotateKey { new_key, common } => {
                let mut new = keyfile::read(&new_key)?;
                let instruction = I::RotateKey {
                    new_key: new.public_key.clone(),
                };
                // Once the rotation is signed, the new key file records the account it signs
                // for (the old key's account, kept across rotations): what its signatures
                // need once the rotation is final.
                let after = move |account: AccountId| {
                    new.account = Some(account);
                    std::fs::write(&new_key, new.to_json() + "\n")
                        .map_err(|e| format!("cannot update {}: {e}", new_key.display()))?;
                    Ok(format!(
                        "{} now signs for account {account}; the old key no longer works",
                        new_key.display()
                    ))
                };
                (
                    Prepared {
                        instruction,
                        after: Some(Box::new(after)),
                    },
                    common,
                )
            }
            Self::SetKeys {
                keys,
                threshold,
                common,
            } => (Prepared::sign(I::SetKeys { keys, threshold }), common),
            Self::Deactivate {
                account,
                reason,
                common,
            } => (Prepared::sign(I::Deactivate { account, reason }), common),
            Self::SetEncryptionKey {
                encryption_key,
                common,
            } => (
                Prepared::sign(I::SetEncryptionKey {
                    key: encryption_key,
                }),
                common,
            ),
            Self::RecoverKey {
                account,
                new_key,
                delay_hours,
                common,
            } => {
                let instruction = I::RecoverKey {
                    account,
                    new_key: new_key.clone(),
                    delay_hours,
                };
                let after = move |_: AccountId| {
                    Ok(format!(
                        "recovery of account {account} started: key {new_key} signs for it once an \
                         official completes the recovery after {delay_hours} hours (`civitas tx \
                         identity complete-recovery`); until then the account's keys can cancel \
                         it. The holder then runs `civitas keys set-account KEYFILE --account \
                         {account}` on its own device"
                    ))
                };
                (
                    Prepared {
                        instruction,
                        after: Some(Box::new(after)),
                    },
                    common,
                )
            }
            Self::CancelRecovery { account, common } => {
                (Prepared::sign(I::CancelRecovery { account }), common)
            }
            Self::CompleteRecovery { account, common } => {
                (Prepared::sign(I::CompleteRecovery { account }), common)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_core::crypto::PrivateKey;
    use civitas_core::kit::Operations;
    use civitas_primitives::kit::cli::{ReadError, TestCli, TestKey, examples, in_dir};
    use clap::{CommandFactory, Parser};

    struct Offline;

    impl Console for Offline {
        fn node(&self) -> &str {
            "offline"
        }
        fn get(&self, path: &str) -> Result<serde_json::Value, ReadError> {
            Err(ReadError {
                status: None,
                message: format!("offline: {path}"),
            })
        }
        fn signer(&self) -> Result<AccountId, String> {
            Ok(PrivateKey::from_test_seed(1).public_key().account_id())
        }
        fn confirm(&self, _: &str, _: bool) -> Result<(), String> {
            Ok(())
        }
        fn note(&self, _: &str) {}
    }

    #[test]
    fn every_instruction_has_a_subcommand_whose_example_makes_it() {
        let dir = std::env::temp_dir().join(format!("identity-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // The key files the examples name, made here.
        let files = [
            "bob.json",
            "alice.json",
            "bob-2026.json",
            "treasury.json",
            "treasury-2.json",
            "treasury-3.json",
            "registrar.json",
            "alice-new.json",
        ];
        for (n, name) in files.iter().enumerate() {
            let file = keyfile::KeyFile::with_encryption(
                &PrivateKey::from_test_seed(10 + n as u64),
                &civitas_core::seal::DecryptionKey::from_test_seed(n as u64),
                "",
            );
            std::fs::write(dir.join(name), file.to_json()).unwrap();
        }
        let command = TestCli::<IdentityCommand<TestKey>>::command();
        let found = examples::<IdentityInstruction>(&command, &["civitas", "tx", "identity"], &[]);
        for (name, argv) in found {
            // Key files named by the examples are read from the folder made above.
            let argv = in_dir(argv, &dir, &files);
            let parsed = TestCli::<IdentityCommand<TestKey>>::try_parse_from(&argv)
                .unwrap_or_else(|e| panic!("the example of {name} does not parse: {e}"));
            let (prepared, _) = parsed.command.prepare(&Offline).unwrap();
            let made = prepared.instruction;
            assert_eq!(
                made.name(),
                format!("identity.{}", name.replace('-', "_")),
                "{name}"
            );
            made.validate()
                .unwrap_or_else(|e| panic!("the example of {name} is not valid: {e}"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
