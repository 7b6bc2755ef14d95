//! `civitas vault`: an agency's vault of personal data (`crates/vault`, docs/PERSONAL-DATA.md).
//! Run one beside a node; through it, seal a person's record and register it, rectify it, read
//! it (the access entry goes on the ledger first), and download, as the person, everything
//! the vaults hold about you, opened with your own key.

use crate::output::{print_json, read_key};
use anyhow::{Context, Result, anyhow, bail};
use civitas_client::Client;
use civitas_core::crypto::AccountId;
use civitas_core::hash::Hash32;
use civitas_core::identity::Account;
use civitas_core::instruction::Instruction;
use civitas_core::keyfile::KeyFile;
use civitas_core::kit::args::{account, document};
use civitas_core::permits::{FormRecord, PermitsInstruction};
use civitas_core::sharing::SharingInstruction;
use civitas_vault::service::{Config, Vault, serve};
use civitas_vault::store::{SubjectCopy, open_subject_copy_with_salt};
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// The options the commands that talk to a node take.
#[derive(clap::Args, Debug)]
pub struct Signed {
    /// Key file of the signing account.
    #[arg(long)]
    key: PathBuf,
    /// A node's API URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    node: String,
    /// Seconds to wait for the ledger entry to be final.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A connection to the ledger, as one account.
struct Session {
    client: Client,
    chain_id: String,
    key: KeyFile,
    /// How `civitas tx` would send, for this account: this node, this timeout, quietly.
    sending: crate::tx::Common,
}

impl Signed {
    fn open(&self) -> Result<Session> {
        let key = read_key(&self.key)?;
        let client = Client::new(&self.node);
        let chain_id = client.chain_id()?;
        let sending = crate::tx::Common {
            key: self.key.clone(),
            cosign: Vec::new(),
            node: self.node.clone(),
            nonce: None,
            memo: String::new(),
            no_wait: false,
            timeout: self.timeout,
            json: true,
            out: None,
            expires_in: 10,
        };
        Ok(Session {
            client,
            chain_id,
            key,
            sending,
        })
    }
}

impl Session {
    /// A state value, decoded; `None` if absent.
    fn state<T: commonware_codec::Decode<Cfg = ()>>(&self, path: &str) -> Result<Option<T>> {
        Ok(self.client.state(path)?)
    }

    /// The address of `agency`'s vault, as the ledger names it.
    fn vault_of(&self, agency: &str) -> Result<String> {
        let vault: civitas_sharing::state::Vault = self
            .state(&format!("sharing/vault/{agency}"))?
            .ok_or_else(|| {
                anyhow!(
                    "agency {agency} has named no vault (its admin names one with `civitas tx \
                     sharing set-vault`)"
                )
            })?;
        Ok(vault.url)
    }

    /// The signing official's agency and its vault.
    fn my_agency_vault(&self) -> Result<(String, Client)> {
        let me: Account = self
            .state(&format!("identity/account/{}", self.key.account()))?
            .ok_or_else(|| anyhow!("account {} is not registered", self.key.account()))?;
        if me.agency.is_empty() {
            bail!("only an official works through an agency's vault");
        }
        let vault = Client::new(&self.vault_of(&me.agency)?);
        Ok((me.agency, vault))
    }

    /// The vault of the signing official's agency.
    fn my_vault(&self) -> Result<Client> {
        self.my_agency_vault().map(|(_, vault)| vault)
    }

    /// Signs and submits `instruction` as `civitas tx` does (its checks, its retry of a stale
    /// nonce), waits until it is final and successful; gives its hash.
    fn record(&self, instruction: SharingInstruction) -> Result<Hash32> {
        self.send(Instruction::Sharing(instruction))
            .map(|(hash, _)| hash)
    }

    /// Signs and submits `instruction` as [`record`](Self::record) does; gives its hash and
    /// its receipt's events.
    fn send(&self, instruction: Instruction) -> Result<(Hash32, Vec<Value>)> {
        let crate::tx::Submitted::Ended(finality) =
            crate::tx::submit(&self.sending, &self.key, instruction)?
        else {
            bail!("the transaction was not submitted");
        };
        let hash = finality.hash;
        if finality.status != "finalized" {
            let document = &finality.document;
            let code = document["receipt"]["outcome"]["code"]
                .as_str()
                .or(document["code"].as_str())
                .unwrap_or(&finality.status);
            let message = document["receipt"]["outcome"]["message"]
                .as_str()
                .or(document["message"].as_str())
                .unwrap_or("no reason given");
            bail!("the ledger refused {hash} ({code}): {message}");
        }
        let events = finality.document["receipt"]["events"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok((hash, events))
    }
}

/// The permits event of type `kind` among a receipt's `events`, as JSON.
fn permits_event<'a>(events: &'a [Value], kind: &str) -> Option<&'a Value> {
    events
        .iter()
        .map(|e| e.get("permits").unwrap_or(e))
        .find(|e| e["type"] == kind)
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run your agency's vault beside its node: it follows the ledger, serves officials against
    /// their access entries, and other agencies' vaults against their shares.
    ///
    /// The key file is the vault's account: an official of the agency with an encryption key
    /// registered (`civitas tx identity set-encryption-key`), named by the agency's admin with
    /// `civitas tx sharing set-vault`.
    ///
    /// Example: civitas vault serve --dir ./vault --key vault.json --listen 127.0.0.1:7300
    Serve {
        /// The vault's data folder (created if missing). Keep it on encrypted storage.
        #[arg(long)]
        dir: PathBuf,
        /// Key file of the vault's account.
        #[arg(long)]
        key: PathBuf,
        /// Its node's API URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7300")]
        listen: String,
        /// How often it reads the ledger's new events, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        follow_ms: u64,
    },
    /// Seal a person's record in your agency's vault and register it on the ledger (records
    /// officers and admins). The data stays in the vault; the ledger gets its commitment.
    ///
    /// Example: civitas vault put --subject 9a419a419a419a419a419a419a419a419a419a419a419a419a419a419a419a41
    ///   --schema civil.birth-certificate --data birth.json
    ///   --basis records-held-for-a-public-task --key registry.json
    Put {
        /// The person's account id.
        #[arg(long, value_parser = account)]
        subject: AccountId,
        /// The record's schema (one governance adopted, such as civil.birth-certificate).
        #[arg(long)]
        schema: String,
        /// A JSON file with the record's data.
        #[arg(long)]
        data: PathBuf,
        /// The legal basis for holding it: a policy id (`GET /v1/sharing/bases`).
        #[arg(long)]
        basis: String,
        #[command(flatten)]
        signed: Signed,
    },
    /// Correct a record your agency holds: a new version, registered on the ledger.
    ///
    /// Example: civitas vault rectify 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --data birth-corrected.json --basis records-held-for-a-public-task --key registry.json
    Rectify {
        /// The record's id.
        record: Hash32,
        /// A JSON file with the corrected data.
        #[arg(long)]
        data: PathBuf,
        /// The legal basis: a policy id.
        #[arg(long)]
        basis: String,
        #[command(flatten)]
        signed: Signed,
    },
    /// Read a record your agency holds or was given: records your access on the ledger
    /// (purpose and basis, which the person sees), then opens it from your agency's vault.
    ///
    /// Example: civitas vault read 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --purpose permit-application --basis recipient-uses-shared-copy --key carla.json
    Read {
        /// The record's id.
        record: Hash32,
        /// What for: a code governance adopted, such as case-handling.
        #[arg(long)]
        purpose: String,
        /// The legal basis: a policy id.
        #[arg(long)]
        basis: String,
        #[command(flatten)]
        signed: Signed,
    },
    /// Consent, as the person a record is about, to an agency receiving it for a purpose, for
    /// a number of days: opens the record from its holder's vault with your key for the proof
    /// that it is about you (its subject salt), then signs `sharing.consent`.
    ///
    /// Example: civitas vault consent 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --recipient finance --purpose permit-application --days 30 --key ana.json
    Consent {
        /// The record's id.
        record: Hash32,
        /// The agency that may receive it.
        #[arg(long)]
        recipient: String,
        /// What for: a code governance adopted, such as permit-application.
        #[arg(long)]
        purpose: String,
        /// For how many days (1 to 366).
        #[arg(long, default_value_t = 30)]
        days: u64,
        #[command(flatten)]
        signed: Signed,
    },
    /// Ask the agency that holds a record about you to erase it. The request stays with its
    /// vault (not on the ledger) until a records officer erases the record.
    ///
    /// Example: civitas vault request-erasure 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --agency land --key ana.json
    RequestErasure {
        /// The record's id.
        record: Hash32,
        /// The agency holding it.
        #[arg(long)]
        agency: String,
        #[command(flatten)]
        signed: Signed,
    },
    /// Decline a person's request to erase a record your agency holds, on a ground the law
    /// gives (records officers and admins): legal-obligation, public-task, public-health,
    /// archiving or legal-claims. The person sees when and why, and may ask again.
    ///
    /// Example: civitas vault decline-erasure 4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c4b1c
    ///   --reason legal-obligation --key registry.json
    DeclineErasure {
        /// The record's id.
        record: Hash32,
        /// The ground: a code.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        signed: Signed,
    },
    /// The erasure requests people made to your agency's vault, oldest first (records
    /// officers and admins). Erase with `civitas tx sharing erase`.
    ///
    /// Example: civitas vault erasure-requests --key registry.json
    ErasureRequests {
        #[command(flatten)]
        signed: Signed,
    },
    /// Apply for a permit: your answers go to the form of the permit type's agency's vault
    /// (checked against the type, sealed for the agency and for you), then `permits.apply`
    /// files the application on the ledger with the form's commitment. Your answers never go on
    /// the ledger. The fee, if the type has one, is paid to the agency and recorded by its
    /// cashier.
    ///
    /// The answers file is a JSON object with one member per field of the type's form
    /// (`GET /v1/permits/types/{id}` lists them).
    ///
    /// Example: civitas vault apply business-licence --answers cafe.json --document plan.pdf
    ///   --key ana.json
    Apply {
        /// The permit type's id.
        permit_type: String,
        /// A JSON file with your answers.
        #[arg(long)]
        answers: PathBuf,
        /// A notarised document the type requires, in the type's order: a file or its
        /// SHA-256; once per document.
        #[arg(long = "document", value_parser = document)]
        documents: Vec<Hash32>,
        /// A vault record the type requires (its id), once per record.
        #[arg(long = "record")]
        records: Vec<Hash32>,
        /// The number of the licence this application renews.
        #[arg(long)]
        renews: Option<u64>,
        #[command(flatten)]
        signed: Signed,
    },
    /// Answer an official's request for information on your application: your corrected
    /// answers, if any, become the form's next version in the agency's vault, and
    /// `permits.provide_information` records the answer (and any further documents) on the
    /// ledger; the step's clock starts again.
    ///
    /// Example: civitas vault answer 12 --answers cafe-corrected.json --key ana.json
    Answer {
        /// The application's number.
        application: u64,
        /// A JSON file with your whole form's answers, corrected; leave it out when the
        /// answer is only documents.
        #[arg(long)]
        answers: Option<PathBuf>,
        /// A further notarised document: a file or its SHA-256; once per document.
        #[arg(long = "document", value_parser = document)]
        documents: Vec<Hash32>,
        #[command(flatten)]
        signed: Signed,
    },
    /// Everything every agency's vault holds about you, opened on this machine with your key
    /// file and checked against the ledger; with each record's subject salt, which a consent
    /// needs (`civitas vault consent` finds it itself).
    ///
    /// Example: civitas vault mine --key ana.json
    Mine {
        /// Only this agency's vault.
        #[arg(long)]
        agency: Option<String>,
        #[command(flatten)]
        signed: Signed,
    },
}

/// Runs a `civitas vault` command.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            dir,
            key,
            node,
            listen,
            follow_ms,
        } => {
            let key = read_key(&key)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .worker_threads(2)
                .build()?;
            runtime.block_on(async move {
                let stop = crate::node_cmd::shutdown_signal();
                let config = Config {
                    dir,
                    node,
                    key,
                    follow_every: Duration::from_millis(follow_ms.max(100)),
                };
                let vault = Vault::open(&config).await.map_err(|e| anyhow!(e))?;
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                println!(
                    "vault of {} listening on http://{}",
                    vault.agency(),
                    listener.local_addr()?
                );
                serve(vault, listener, stop).await?;
                Ok(())
            })
        }
        Command::Put {
            subject,
            schema,
            data,
            basis,
            signed,
        } => {
            let session = signed.open()?;
            let data = read_json(&data)?;
            let vault = session.my_vault()?;
            let sealed = sealed(vault.signed_post_json(
                "/v1/vault/records",
                &session.chain_id,
                &session.key,
                &json!({"subject": subject, "schema": schema, "data": data}),
            )?)?;
            let (Some(nonce), Some(tag)) = (sealed.nonce, sealed.subject) else {
                bail!("the vault's answer has no nonce or subject tag");
            };
            let record = sealed.record;
            let tx = session.record(SharingInstruction::Register {
                record,
                nonce,
                schema: schema.clone(),
                commitment: sealed.commitment,
                subject: tag,
                basis,
            })?;
            report(
                signed.json,
                json!({"record": record, "schema": schema, "registered": tx}),
                &format!("record {record} ({schema}) sealed in the vault and registered by {tx}"),
            );
            Ok(())
        }
        Command::Apply {
            permit_type,
            answers,
            documents,
            records,
            renews,
            signed,
        } => {
            // The local file is read before the network is asked anything.
            let answers = read_json(&answers)?;
            let session = signed.open()?;
            let found: civitas_permits::state::PermitType = session
                .state(&format!("permits/type/{permit_type}"))?
                .ok_or_else(|| {
                    anyhow!(
                        "permit type {permit_type} does not exist (GET /v1/permits/types lists \
                         them)"
                    )
                })?;
            let vault = Client::new(&session.vault_of(&found.agency)?);
            let sealed = sealed(vault.signed_post_json(
                "/v1/vault/forms",
                &session.chain_id,
                &session.key,
                &json!({"permit_type": permit_type, "answers": answers}),
            )?)?;
            let (Some(seed), Some(subject)) = (sealed.seed, sealed.subject) else {
                bail!("the vault's answer has no seed or subject tag");
            };
            let (tx, events) = session.send(Instruction::Permits(PermitsInstruction::Apply {
                permit_type: permit_type.clone(),
                form: FormRecord {
                    seed,
                    commitment: sealed.commitment,
                    subject,
                },
                documents,
                records,
                renews,
            }))?;
            let filed = permits_event(&events, "application_filed")
                .ok_or_else(|| anyhow!("{tx} filed no application"))?;
            let application = filed["application"]
                .as_u64()
                .ok_or_else(|| anyhow!("{tx}'s receipt names no application number"))?;
            let fee = filed["fee"].clone();
            let mut line = format!(
                "application {application} for {permit_type} filed by {tx}; its form is record \
                 {} in {}'s vault",
                sealed.record, found.agency
            );
            if let Ok(fee) = serde_json::from_value::<civitas_core::money::Money>(fee.clone()) {
                line.push_str(&format!(
                    "; the fee of {fee} is to be paid to {} with the reference \
                     APPLICATION-{application} (its first step starts once it is recorded)",
                    found.agency
                ));
            }
            report(
                signed.json,
                json!({
                    "application": application,
                    "permit_type": permit_type,
                    "agency": found.agency,
                    "form": sealed.record,
                    "filed": tx,
                    "fee": fee,
                }),
                &line,
            );
            Ok(())
        }
        Command::Answer {
            application,
            answers,
            documents,
            signed,
        } => {
            if answers.is_none() && documents.is_empty() {
                bail!(
                    "an answer gives corrected answers (--answers), documents (--document), or both"
                );
            }
            // The local file is read before the network is asked anything.
            let answers = answers.map(|path| read_json(&path)).transpose()?;
            let session = signed.open()?;
            let filed: civitas_permits::state::Application = session
                .state(&format!("permits/application/{application}"))?
                .ok_or_else(|| anyhow!("application {application} does not exist"))?;
            let form = match answers {
                Some(answers) => {
                    let vault = Client::new(&session.vault_of(&filed.agency)?);
                    let path = format!("/v1/vault/forms/{}/versions", filed.form);
                    let body = json!({"application": application, "answers": answers});
                    // The vault follows the ledger a moment behind it: a form whose
                    // registration or last revision it has not yet seen is out of step for
                    // that moment.
                    let started = std::time::Instant::now();
                    let answer = loop {
                        match vault.signed_post_json(&path, &session.chain_id, &session.key, &body)
                        {
                            Err(civitas_client::ClientError::Api { code, .. })
                                if code == "form_out_of_step"
                                    && started.elapsed() < Duration::from_secs(20) =>
                            {
                                std::thread::sleep(Duration::from_millis(500));
                            }
                            other => break other?,
                        }
                    };
                    Some(sealed(answer)?.commitment)
                }
                None => None,
            };
            let (tx, _) = session.send(Instruction::Permits(
                PermitsInstruction::ProvideInformation {
                    application,
                    form,
                    documents,
                },
            ))?;
            report(
                signed.json,
                json!({"application": application, "answered": tx, "form_revised": form.is_some()}),
                &format!("application {application} answered by {tx}"),
            );
            Ok(())
        }
        Command::Rectify {
            record,
            data,
            basis,
            signed,
        } => {
            let session = signed.open()?;
            let data = read_json(&data)?;
            let vault = session.my_vault()?;
            let sealed = sealed(vault.signed_post_json(
                &format!("/v1/vault/records/{record}/versions"),
                &session.chain_id,
                &session.key,
                &json!({"data": data}),
            )?)?;
            let version = sealed.version;
            let tx = session.record(SharingInstruction::Rectify {
                record,
                version,
                commitment: sealed.commitment,
                basis,
            })?;
            report(
                signed.json,
                json!({"record": record, "version": version, "registered": tx}),
                &format!("record {record} is at version {version} (registered by {tx})"),
            );
            Ok(())
        }
        Command::Read {
            record,
            purpose,
            basis,
            signed,
        } => {
            let session = signed.open()?;
            let vault = session.my_vault()?;
            let access = session.record(SharingInstruction::Access {
                record,
                purpose,
                basis,
            })?;
            let opened = vault.signed_json(
                "GET",
                &format!("/v1/vault/records/{record}?access={access}"),
                &session.chain_id,
                &session.key,
            )?;
            if signed.json {
                print_json(&opened);
            } else {
                eprintln!("access recorded by {access}");
                println!("{}", serde_json::to_string_pretty(&opened)?);
            }
            Ok(())
        }
        Command::Consent {
            record,
            recipient,
            purpose,
            days,
            signed,
        } => {
            if !(1..=366).contains(&days) {
                bail!("--days is 1 to 366");
            }
            let session = signed.open()?;
            let entry: civitas_sharing::state::Record = session
                .state(&format!("sharing/record/{record}"))?
                .ok_or_else(|| anyhow!("no record {record} is registered on the ledger"))?;
            let keys = session.key.decryption_keys()?;
            if keys.is_empty() {
                bail!("your key file has no encryption key, so no record opens with it");
            }
            let url = session.vault_of(&entry.holder)?;
            let answer = Client::new(&url)
                .signed_json(
                    "GET",
                    &format!("/v1/vault/mine?vault={}", entry.holder),
                    &session.chain_id,
                    &session.key,
                )
                .with_context(|| format!("the vault of {} at {url}", entry.holder))?;
            let copies: Vec<SubjectCopy> =
                serde_json::from_value(answer["records"].clone()).unwrap_or_default();
            // The subject salt comes from the first version, checked against the vault's
            // commitment to it (the ledger keeps only the version in force).
            let first = copies
                .iter()
                .find(|c| c.row.id.0 == record.0 && c.row.version == 1)
                .ok_or_else(|| {
                    anyhow!(
                        "the vault of {} gives you no record {record}: it is not about you, or \
                         was erased",
                        entry.holder
                    )
                })?;
            let opened = open_subject_copy_with_salt(
                first,
                &session.key.account(),
                &keys,
                &first.row.commitment,
            )?;
            // The ledger's own proof that the record is about you, checked before anything
            // is signed: a consent refused on the ledger would still publish your account, the
            // record and the salt.
            let tag = civitas_core::sharing::subject_tag(
                &record,
                &opened.subject_salt,
                &session.key.account(),
            );
            if tag != entry.subject {
                bail!(
                    "record {record} opens with your key, but the ledger did not register it \
                     about you; nothing was signed. Tell the agency {}",
                    entry.holder
                );
            }
            // Counted from the later of the latest block's time and this machine's clock, as
            // the ledger counts from the block that takes the consent.
            let tip = session.client.status()?["timestamp"]
                .as_u64()
                .context("the node's status gives no block time")?;
            // Never past what the ledger allows from the latest block, which the block that
            // takes the consent follows.
            let now = tip.max(crate::devnet::now_ms());
            let expires = civitas_core::time::TimestampMs(
                now.saturating_add(days.saturating_mul(86_400_000))
                    .min(tip.saturating_add(civitas_core::sharing::CONSENT_DAYS_MAX * 86_400_000)),
            );
            let hash = session.record(SharingInstruction::Consent {
                record,
                salt: opened.subject_salt,
                recipient: recipient.clone(),
                purpose: purpose.clone(),
                expires,
            })?;
            report(
                signed.json,
                json!({ "tx": hash, "record": record, "recipient": recipient, "purpose": purpose, "expires": expires.rfc3339() }),
                &format!(
                    "consented in {hash}: {recipient} may ask for {record} for {purpose} until {}; \
                     the record's log shows the consent's number, which withdraws it \
                     (civitas tx sharing revoke-consent N)",
                    expires.rfc3339()
                ),
            );
            Ok(())
        }
        Command::RequestErasure {
            record,
            agency,
            signed,
        } => {
            let session = signed.open()?;
            let url = session.vault_of(&agency)?;
            let answer = Client::new(&url)
                .signed_json(
                    "POST",
                    &format!("/v1/vault/erasure-requests?vault={agency}&record={record}"),
                    &session.chain_id,
                    &session.key,
                )
                .with_context(|| format!("the vault of {agency} at {url}"))?;
            let when = answer["requested_ms"]
                .as_u64()
                .map(|ms| civitas_core::time::TimestampMs(ms).rfc3339())
                .unwrap_or_default();
            report(
                signed.json,
                answer,
                &format!("asked {agency} to erase {record} (request made {when})"),
            );
            Ok(())
        }
        Command::DeclineErasure {
            record,
            reason,
            signed,
        } => {
            if civitas_vault::store::refusal_text(&reason).is_none() {
                bail!(
                    "--reason is one of: {}",
                    civitas_vault::store::refusal_codes()
                );
            }
            let session = signed.open()?;
            let (agency, vault) = session.my_agency_vault()?;
            let answer = vault.signed_json(
                "POST",
                &format!(
                    "/v1/vault/erasure-requests/decline?vault={agency}&record={record}&reason={reason}"
                ),
                &session.chain_id,
                &session.key,
            )?;
            report(
                signed.json,
                answer.clone(),
                &format!(
                    "declined the request to erase {record}: {}",
                    answer["reason_text"].as_str().unwrap_or(&reason)
                ),
            );
            Ok(())
        }
        Command::ErasureRequests { signed } => {
            let session = signed.open()?;
            let (agency, vault) = session.my_agency_vault()?;
            let answer = vault.signed_json(
                "GET",
                &format!("/v1/vault/erasure-requests?vault={agency}"),
                &session.chain_id,
                &session.key,
            )?;
            if signed.json {
                print_json(&answer);
                return Ok(());
            }
            let requests = answer["requests"].as_array().cloned().unwrap_or_default();
            if requests.is_empty() {
                println!("no erasure request is waiting in the vault of {agency}");
            }
            for request in requests {
                let when = request["requested_ms"]
                    .as_u64()
                    .map(|ms| civitas_core::time::TimestampMs(ms).rfc3339())
                    .unwrap_or_default();
                println!(
                    "{}  {}  asked {when}",
                    request["record"].as_str().unwrap_or(""),
                    request["schema"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        Command::Mine { agency, signed } => {
            let session = signed.open()?;
            let agencies = match agency {
                Some(agency) => vec![agency],
                None => {
                    let list = session.client.get_json("/v1/agencies")?;
                    list["agencies"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x["id"].as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default()
                }
            };
            let keys = session.key.decryption_keys()?;
            if keys.is_empty() {
                bail!("your key file has no encryption key, so nothing was sealed to you");
            }
            let mut out = Vec::new();
            for agency in agencies {
                let url = match session.vault_of(&agency) {
                    Ok(url) => url,
                    Err(_) => continue,
                };
                let answer = Client::new(&url)
                    .signed_json(
                        "GET",
                        &format!("/v1/vault/mine?vault={agency}"),
                        &session.chain_id,
                        &session.key,
                    )
                    .with_context(|| format!("the vault of {agency} at {url}"))?;
                let copies: Vec<SubjectCopy> =
                    serde_json::from_value(answer["records"].clone()).unwrap_or_default();
                for copy in copies {
                    out.push(open_mine(&session, &agency, &copy, &keys));
                }
            }
            if signed.json {
                print_json(&Value::Array(out));
            } else if out.is_empty() {
                println!("no vault holds a record about you");
            } else {
                println!("{}", serde_json::to_string_pretty(&Value::Array(out))?);
            }
            Ok(())
        }
    }
}

/// One record a vault gave the person, opened with their keys and checked against the
/// ledger's commitment (for the version in force; an older version against the one the vault
/// sent, and said so).
fn open_mine(
    session: &Session,
    agency: &str,
    copy: &SubjectCopy,
    keys: &[civitas_core::seal::DecryptionKey],
) -> Value {
    let id = Hash32(copy.row.id.0);
    let entry: Option<civitas_sharing::state::Record> = session
        .state(&format!("sharing/record/{id}"))
        .ok()
        .flatten();
    let (commitment, checked) = match &entry {
        Some(e) if e.version == copy.row.version => (e.commitment, "against the ledger"),
        _ => (
            copy.row.commitment,
            "against the vault's commitment (not the version in force)",
        ),
    };
    let subject = session.key.account();
    match open_subject_copy_with_salt(copy, &subject, keys, &commitment) {
        Ok(opened) => json!({
            "agency": agency,
            "record": id,
            "version": copy.row.version,
            "schema": copy.row.schema,
            "status": copy.row.status,
            "held_by": copy.row.origin.clone().unwrap_or_else(|| agency.to_string()),
            "data": civitas_vault::service::data_of(&opened.body),
            "checked": checked,
            "subject_salt": (copy.row.version == 1).then_some(opened.subject_salt),
            "log": format!("/v1/sharing/records/{id}/log"),
            "erasure_request": copy.erasure_request,
        }),
        Err(error) => json!({
            "agency": agency,
            "record": id,
            "version": copy.row.version,
            "schema": copy.row.schema,
            "status": copy.row.status,
            "error": error.to_string(),
        }),
    }
}

/// The vault's answer to a submitted record or version.
fn sealed(answer: Value) -> Result<civitas_vault::service::Sealed> {
    serde_json::from_value(answer.clone())
        .with_context(|| format!("the vault's answer is not what it should be: {answer}"))
}

fn read_json(path: &PathBuf) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn report(json: bool, value: Value, line: &str) {
    if json {
        print_json(&value);
    } else {
        println!("{line}");
    }
}
