//! The ledger's modules, assembled from the registration list
//! ([`civitas_core::for_each_module!`]).
//!
//! Each module is a package under `modules/` implementing the kit's [`Module`] trait; this crate
//! holds no module's code. From the list it builds [`CivitasModules`], the runtime execution
//! calls: authentication (the identity module's), then for each instruction one authorization
//! step (the question the module asks, decided by the Cedar policies kept on the ledger), then
//! the module's handler. It also assembles the default schema and policies genesis carries
//! ([`authz::default_authorization`]). Modules see only the state through the executor's
//! overlay; they never talk to the network.

pub mod cli;
pub mod examples;
pub mod queries;
pub mod testing;

pub use civitas_governance as governance;
pub use civitas_identity as identity;
pub use civitas_identity::roles;
pub use civitas_notary as notary;
pub use civitas_procurement as procurement;
pub use civitas_treasury as treasury;

use civitas_core::event::Event;
use civitas_core::genesis::Genesis;
use civitas_core::identity::Account;
use civitas_core::instruction::Instruction;
use civitas_core::tx::SignedTx;
use civitas_exec::{BlockEnv, BlockError, Failure, Modules, Overlay, Rejection, TxContext};
use civitas_kit::authz::Question;
use civitas_kit::{Module, fail, tri};
use civitas_state::StateView;

/// The kit's authorization step, with the default schema and policies assembled from the
/// modules' parts.
pub mod authz {
    pub use civitas_identity::authz::{Reader, authorize_read, cosigners};
    pub use civitas_kit::authz::*;

    /// The schema a genesis at the newest protocol version carries: the kit's base part,
    /// then each module's part in registration order.
    pub fn default_schema() -> String {
        crate::assembled_schema(civitas_core::protocol::PROTOCOLS.newest())
    }

    /// The policies a genesis at the newest protocol version carries: the kit's base
    /// policies, then each module's in registration order.
    pub fn default_policies() -> String {
        crate::assembled_policies(civitas_core::protocol::PROTOCOLS.newest())
    }

    /// The default schema and policies of a genesis at the newest protocol version.
    pub fn default_authorization() -> civitas_core::genesis::GenesisAuthorization {
        authorization_for(civitas_core::protocol::PROTOCOLS.newest())
    }

    /// The default schema and policies of a genesis at protocol version `protocol`
    /// (`civitas genesis init`, `civitas devnet`): those of the modules it has. A module a
    /// later version introduces joins at that version's first block
    /// ([`install`](civitas_kit::authz::install)).
    pub fn authorization_for(protocol: u16) -> civitas_core::genesis::GenesisAuthorization {
        civitas_core::genesis::GenesisAuthorization {
            schema: crate::assembled_schema(protocol),
            policies: crate::assembled_policies(protocol),
        }
    }

    pub use crate::question;
}

/// All registered modules.
#[derive(Clone, Copy, Debug, Default)]
pub struct CivitasModules;

/// Builds, from the registration list, the dispatch of instructions to their modules and the
/// assembled schema and policies.
macro_rules! runtime {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, $name:literal :
        $ops:ty, $events:ty => $module:path; )*) => {
        /// The question `instruction` asks the policies, built by its module; or why it cannot
        /// be asked (the record it names does not exist).
        pub async fn question<'a, S: StateView>(
            ctx: &TxContext<'_>,
            signer: &'a Account,
            cosigners: &'a [Account],
            instruction: &Instruction,
            state: &mut Overlay<'_, S>,
        ) -> Result<Result<Question<'a>, Failure>, BlockError> {
            match instruction {
                $( Instruction::$variant(op) => {
                    <$module as Module>::question(ctx, signer, cosigners, op, state).await
                } )*
            }
        }

        async fn dispatch<S: StateView>(
            ctx: &TxContext<'_>,
            signer: &Account,
            cosigners: &[Account],
            instruction: &Instruction,
            state: &mut Overlay<'_, S>,
        ) -> Result<Result<Vec<Event>, Failure>, BlockError> {
            match instruction {
                $( Instruction::$variant(op) => {
                    <$module as Module>::apply(ctx, signer, cosigners, op, state).await
                } )*
            }
        }

        async fn modules_genesis<S: StateView>(
            genesis: &Genesis,
            state: &mut Overlay<'_, S>,
        ) -> Result<(), BlockError> {
            $( <$module as Module>::genesis(genesis, state).await?; )*
            Ok(())
        }

        /// Every module's end-of-block step in list order, each within what the ones before
        /// it left of the block's bound of end events; a module's from the protocol version
        /// that introduced it (before, it has nothing to act on: not even its state is read).
        async fn modules_end_block<S: StateView>(
            env: &BlockEnv,
            state: &mut Overlay<'_, S>,
        ) -> Result<Vec<Event>, BlockError> {
            let mut events = Vec::new();
            $(
                if env.protocol.version >= <$module as Module>::SINCE {
                let budget = civitas_exec::END_EVENTS_MAX.saturating_sub(events.len());
                let mut emitted = <$module as Module>::end_block(env, state, budget).await?;
                if emitted.len() > budget {
                    return Err(BlockError::invalid(
                        "too_many_end_events",
                        format!("module {} emitted {} end-of-block events, more than {budget}", $name, emitted.len()),
                    ));
                }
                events.append(&mut emitted);
                }
            )*
            Ok(events)
        }

        /// The key spaces module `name` declares.
        #[cfg(test)]
        fn module_spaces(name: &str) -> &'static [civitas_kit::space::Space] {
            match name {
                $( $name => <$module as Module>::SPACES, )*
                _ => &[],
            }
        }

        /// Every key space: the ledger's, then each module's in registration order.
        fn assembled_spaces() -> Vec<&'static civitas_kit::space::Space> {
            let mut all: Vec<&'static civitas_kit::space::Space> =
                civitas_kit::space::LEDGER.iter().collect();
            $( all.extend(<$module as Module>::SPACES.iter()); )*
            all
        }

        /// The base schema and the parts of the modules protocol `protocol` has.
        fn assembled_schema(protocol: u16) -> String {
            let mut parts = vec![civitas_kit::authz::BASE_SCHEMA];
            $( if <$module as Module>::SINCE <= protocol {
                parts.push(<$module as Module>::SCHEMA);
                for later in <$module as Module>::LATER {
                    if later.since <= protocol {
                        parts.push(later.schema);
                    }
                }
            } )*
            parts.join("\n")
        }

        /// The (schema part, default policies) of every module introduced after protocol
        /// `from` and up to `to`, and of what a version in that range adds to an older module,
        /// in registration order.
        fn introduced(from: u16, to: u16) -> Vec<(&'static str, &'static str)> {
            let mut parts = Vec::new();
            $( let since = <$module as Module>::SINCE;
            if from < since && since <= to {
                parts.push((<$module as Module>::SCHEMA, <$module as Module>::POLICIES));
            }
            if since <= to {
                for later in <$module as Module>::LATER {
                    if from < later.since && later.since <= to {
                        parts.push((later.schema, later.policies));
                    }
                }
            } )*
            parts
        }

        /// `module.instruction` of every instruction of every module, from the declarations.
        #[cfg(test)]
        fn declared_actions() -> Vec<String> {
            let mut actions = Vec::new();
            $( for variant in <$ops as civitas_core::kit::Tagged>::VARIANTS {
                actions.push(format!("{}.{}", $name, civitas_core::kit::kebab(variant).replace('-', "_")));
            } )*
            actions
        }

        /// Every module's HTTP routes, in registration order, each with its declaration for
        /// the OpenAPI document.
        pub fn routes() -> utoipa_axum::router::OpenApiRouter<civitas_kit::ledger::Ledger> {
            utoipa_axum::router::OpenApiRouter::new()
                $( .merge(<$module as Module>::routes()) )*
        }

        /// Every module's sections of the portal, in registration order.
        pub fn sections() -> Vec<civitas_kit::portal::Section> {
            let mut all = Vec::new();
            $( all.extend_from_slice(<$module as Module>::SECTIONS); )*
            all
        }

        /// Every module's portal pages.
        pub fn pages() -> axum::Router<civitas_kit::portal::Site> {
            axum::Router::new()
                $( .merge(<$module as Module>::pages()) )*
        }

        /// Every module's forms in the agency console, in registration order.
        pub fn actions() -> impl Iterator<Item = &'static civitas_kit::portal::Action> {
            std::iter::empty()
                $( .chain(<$module as Module>::ACTIONS.iter()) )*
        }

        /// What every module shows a signed-in person about `account`, in registration order.
        pub async fn account_pages(
            site: &civitas_kit::portal::Site,
            account: &civitas_core::crypto::AccountId,
        ) -> String {
            let mut html = String::new();
            $( html.push_str(&<$module as Module>::account_page(site, account).await); )*
            html
        }

        /// What every module shows an official of `agency` in the console, in registration
        /// order.
        pub async fn console_pages(site: &civitas_kit::portal::Site, agency: &str) -> String {
            let mut html = String::new();
            $( html.push_str(&<$module as Module>::console_page(site, agency).await); )*
            html
        }

        /// Every module's devnet samples, by module name, in registration order.
        pub fn samples() -> Vec<(&'static str, civitas_kit::samples::Seed)> {
            vec![ $( ($name, <$module as Module>::samples as civitas_kit::samples::Seed), )* ]
        }

        /// Every module's part of the read model, in registration order.
        pub static INDEX_TABLES: &[civitas_kit::index::Tables] = &[ $( civitas_kit::index::Tables {
            module: $name,
            tables: <$module as Module>::INDEX_TABLES,
            migrations: <$module as Module>::INDEX_MIGRATIONS,
            project: <$module as Module>::project,
        }, )* ];

        /// Every module's benchmark workloads, in registration order.
        pub fn workloads() -> impl Iterator<Item = &'static civitas_kit::samples::Workload> {
            std::iter::empty()
                $( .chain(<$module as Module>::WORKLOADS.iter()) )*
        }

        /// The base policies and the default policies of the modules protocol `protocol` has.
        fn assembled_policies(protocol: u16) -> String {
            let mut parts = vec![civitas_kit::authz::BASE_POLICIES];
            $( if <$module as Module>::SINCE <= protocol {
                parts.push(<$module as Module>::POLICIES);
                for later in <$module as Module>::LATER {
                    if later.since <= protocol {
                        parts.push(later.policies);
                    }
                }
            } )*
            parts.join("\n")
        }
    };
}

civitas_core::for_each_module!(runtime);

impl Modules for CivitasModules {
    async fn genesis<S: StateView>(
        &self,
        genesis: &Genesis,
        state: &mut Overlay<'_, S>,
    ) -> Result<(), BlockError> {
        civitas_kit::authz::genesis(genesis, state).await?;
        modules_genesis(genesis, state).await
    }

    /// At the first block of a protocol version that introduces modules, their schema parts
    /// and default policies join the chain's authorization.
    async fn begin_block<S: StateView>(
        &self,
        env: &BlockEnv,
        state: &mut Overlay<'_, S>,
    ) -> Result<(), BlockError> {
        civitas_kit::authz::install(env, state, introduced).await
    }

    async fn end_block<S: StateView>(
        &self,
        env: &BlockEnv,
        state: &mut Overlay<'_, S>,
    ) -> Result<Vec<Event>, BlockError> {
        civitas_kit::authz::end_block(env, state).await?;
        modules_end_block(env, state).await
    }

    async fn authenticate<S: StateView>(
        &self,
        tx: &SignedTx,
        state: &mut Overlay<'_, S>,
    ) -> Result<Result<(), Rejection>, BlockError> {
        identity::handler::authenticate(tx, state).await
    }

    async fn apply<S: StateView>(
        &self,
        ctx: &TxContext<'_>,
        instruction: &Instruction,
        state: &mut Overlay<'_, S>,
    ) -> Result<Result<Vec<Event>, Failure>, BlockError> {
        let Some(signer) = identity::state::load_account(state, &ctx.signer).await? else {
            fail!("unknown_account");
        };
        let cosigners = authz::cosigners(&ctx.signing_keys, &signer, state).await?;
        let question = tri!(question(ctx, &signer, &cosigners, instruction, state).await?);
        let policies = authz::load_active(state).await?;
        tri!(authz::decide(&policies, ctx.env, &question));
        dispatch(ctx, &signer, &cosigners, instruction, state).await
    }
}

#[cfg(test)]
mod tests {
    use super::authz::*;

    /// What a released protocol version admits, and the schema parts and default policies of
    /// the modules it introduces (installed on running chains at its first block), never
    /// change: a release that changed them would make blocks or state that releases before it
    /// do not, under the same version. A new version gets its own entry here when released.
    #[test]
    fn released_protocol_versions_are_frozen() {
        let pinned: &[(u16, &str)] = &[
            (
                1,
                "225b1773d0cee19bfd21dbb6537e6f636144b1964826eae255937104c7ae8be3",
            ),
            (
                2,
                "211134576523bb90098255ba17554d0f6465b9207fff172309f9e8ddf2b189b7",
            ),
            (
                3,
                "918e1807a308b7d8b1cd2936d8337aa173838af02b2256b434876d568d7ddc49",
            ),
            (
                4,
                "cbc25712ff0f704f15b631b8379a7e4776523522faaff18be3c060a33797e0ab",
            ),
        ];
        for (version, digest) in pinned {
            let protocol = civitas_core::protocol::PROTOCOLS.get(*version).unwrap();
            let mut text = String::new();
            for feature in protocol.all_features() {
                text.push_str(feature);
                text.push('\n');
            }
            if *version > 1 {
                for (schema, policies) in super::introduced(version - 1, *version) {
                    text.push_str(schema);
                    text.push_str(policies);
                }
            }
            let actual = civitas_core::hash::Hash32::sha256(text.as_bytes()).to_hex();
            assert_eq!(
                &actual, digest,
                "protocol version {version} has been released: its features and its modules' \
                 schema parts and default policies cannot change; add a version instead"
            );
        }
    }

    /// An allowed question says which permit policies allowed it; a refused one none.
    #[test]
    fn a_decision_names_the_policies_that_permitted_it() {
        use civitas_core::crypto::PrivateKey;
        use civitas_core::event::AccountKind;
        use civitas_core::identity::Account;
        let compiled = compile(
            &default_schema(),
            &parse_policies(&default_policies()).unwrap(),
        )
        .unwrap();
        let env = crate::testing::Chain::at(civitas_core::protocol::PROTOCOLS.newest()).env();
        let account = |seed: u64, kind: AccountKind, roles: &[&str]| Account {
            id: PrivateKey::from_test_seed(seed).public_key().account_id(),
            kind,
            agency: if kind == AccountKind::Official {
                "land".into()
            } else {
                String::new()
            },
            name: String::new(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            keys: vec![PrivateKey::from_test_seed(seed).public_key()],
            threshold: 1,
            active: true,
            registered_height: 1,
            registered_by: PrivateKey::from_test_seed(seed).public_key().account_id(),
        };
        let registrar = account(1, AccountKind::Official, &["registrar"]);
        let citizen = account(2, AccountKind::Citizen, &[]);
        let nobody = account(3, AccountKind::Citizen, &[]);
        fn question<'a>(principal: &'a Account, resource: &Account) -> Question<'a> {
            Question {
                basis: None,
                principal,
                cosigners: &[],
                action: "identity.register_citizen",
                resource: Resource::Account(resource.clone()),
                params: Vec::new(),
            }
        }
        assert_eq!(
            permits(&compiled, &env, &question(&registrar, &citizen)).unwrap(),
            vec!["registrar-registers-citizens".to_string()]
        );
        assert!(permits(&compiled, &env, &question(&nobody, &citizen)).is_err());
        assert!(
            compiled
                .annotation("registrar-registers-citizens", "description")
                .is_some()
        );
        assert_eq!(
            compiled.annotation("registrar-registers-citizens", "basis"),
            None
        );
        // A question citing a basis is allowed only if that policy allowed it and is a legal
        // basis: here the policy allowed it but is not one.
        let citing = |basis: &str| Question {
            basis: Some(basis.to_string()),
            ..question(&registrar, &citizen)
        };
        let code = |result: Result<(), civitas_kit::Failure>| result.err().map(|f| f.code);
        assert_eq!(
            code(decide(
                &compiled,
                &env,
                &citing("registrar-registers-citizens")
            )),
            Some("not_a_legal_basis")
        );
        assert_eq!(
            code(decide(&compiled, &env, &citing("data-subject-consent"))),
            Some("basis_not_applicable")
        );
        assert_eq!(
            code(decide(&compiled, &env, &question(&registrar, &citizen))),
            None
        );
    }

    #[test]
    fn the_assembled_defaults_compile() {
        let entries = parse_policies(&default_policies()).unwrap();
        assert!(entries.iter().any(|e| e.id == "agency-admins-govern"));
        let compiled = compile(&default_schema(), &entries).unwrap();
        let anchor: Vec<String> = compiled
            .for_action("notary.anchor")
            .policies()
            .map(|p| p.id().to_string())
            .collect();
        assert_eq!(anchor, vec!["notary-anchors-documents".to_string()]);
        assert!(compiled.description("no-self-role-change").is_some());
    }

    /// No two key spaces share a name, and every module's space is named after the module (a
    /// client reads `<module>/<records>/<id>`; a clash would make two modules' records one).
    #[test]
    fn key_spaces_are_unique_and_named_after_their_module() {
        let all = crate::queries::spaces();
        let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "two spaces share a name");
        for (module, _) in civitas_core::instruction::Instruction::tags() {
            for space in super::module_spaces(module) {
                let owned = space.name.starts_with(&format!("{module}/"))
                    || space.name.starts_with("consensus/");
                assert!(owned, "{module} declares {}", space.name);
            }
        }
    }

    /// Every instruction of every module has an action in the assembled schema, and every
    /// action is an instruction's or one of the ledger's reads.
    #[test]
    fn every_instruction_has_an_action_and_no_action_is_stray() {
        let schema = default_schema();
        let mut declared: Vec<String> = schema
            .lines()
            .filter_map(|line| line.strip_prefix("action \""))
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string)
            .collect();
        declared.sort();
        let mut expected = super::declared_actions();
        expected.push("ledger.read_pending".into());
        expected.sort();
        assert_eq!(declared, expected);
    }
}
