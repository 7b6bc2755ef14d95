//! The registration list: the modules of the ledger, each with its wire tag.
//!
//! [`assemble!`](crate::assemble) builds from this list the ledger's [`Instruction`] (one
//! variant per module, holding the module's operations) and [`Event`] (one variant per module,
//! holding its events), with their canonical codecs and JSON shapes. A module is added by
//! adding one entry here; its tag is never reused. See `docs/MODULES.md`.

/// The registration list. Invokes `$callback!` with one entry per module, in tag order:
/// `Variant = tag, "name": Instructions, Events => Module;`, where `Module` is the unit struct
/// in the module's package that implements the kit's `Module` trait (the path is resolved only
/// where the callback uses it: `civitas-modules`, which depends on the module packages).
///
/// Core assembles the ledger's types from it ([`assemble!`](crate::assemble)); the runtime,
/// the default authorization and the routes are assembled from it by `civitas-modules`.
/// Each module's vocabulary package, under the module's name; `civitas_core` re-exports them
/// (`civitas_core::notices::NoticesInstruction`). Governance's is `civitas_core::governance`,
/// which adds the validator sets.
pub mod vocabularies {
    pub use civitas_identity_types as identity;
    pub use civitas_notary_types as notary;
    pub use civitas_notices_types as notices;
    pub use civitas_permits_types as permits;
    pub use civitas_procurement_types as procurement;
    pub use civitas_sharing_types as sharing;
    pub use civitas_treasury_types as treasury;
}

#[macro_export]
macro_rules! for_each_module {
    ($callback:path) => {
        $callback! {
            /// Accounts, officials, roles and keys.
            Identity = 1, "identity":
                $crate::identity::IdentityInstruction, $crate::identity::IdentityEvent
                => civitas_identity::Identity;
            /// Document anchoring and revocation.
            Notary = 2, "notary":
                $crate::notary::NotaryInstruction, $crate::notary::NotaryEvent
                => civitas_notary::Notary;
            /// Proposals approved by agencies: validator sets, agencies, thresholds, policies.
            Governance = 3, "governance":
                $crate::governance::GovernanceInstruction, $crate::governance::GovernanceEvent
                => civitas_governance::Governance;
            /// Fiscal years, appropriations, commitments and payments.
            Treasury = 4, "treasury":
                $crate::treasury::TreasuryInstruction, $crate::treasury::TreasuryEvent
                => civitas_treasury::Treasury;
            /// Tenders, sealed bids, awards and contracts.
            Procurement = 5, "procurement":
                $crate::procurement::ProcurementInstruction, $crate::procurement::ProcurementEvent
                => civitas_procurement::Procurement;
            /// The public register of official notices (protocol version 2).
            Notices = 6, "notices":
                $crate::notices::NoticesInstruction, $crate::notices::NoticesEvent
                => civitas_notices::Notices;
            /// Personal data in agencies' vaults: records, legal bases, consent, shares and
            /// the access log (protocol version 3).
            Sharing = 7, "sharing":
                $crate::sharing::SharingInstruction, $crate::sharing::SharingEvent
                => civitas_sharing::Sharing;
            /// Permit types, applications, decisions, deadlines and licences (protocol
            /// version 4).
            Permits = 8, "permits":
                $crate::permits::PermitsInstruction, $crate::permits::PermitsEvent
                => civitas_permits::Permits;
        }
    };
}

for_each_module!(crate::assemble);

/// Builds the ledger's `Instruction` and `Event` enums from the registration list.
///
/// Each entry is `Variant = tag, "name": Operations, Events => Module;` (see
/// [`for_each_module!`](crate::for_each_module); `Module` is not used here). An instruction encodes as
/// `u8 tag | u8 operation | fields`; an event as its module's tag and encoding
/// ([`EventTags`](crate::kit::EventTags)). The JSON of an instruction is the module's own,
/// with `"module": name` added; the JSON of an event is the module's own (tagged `"type"`).
#[macro_export]
macro_rules! assemble {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, $name:literal :
        $ops:ty, $events:ty => $module:path; )*) => {
        /// One operation in a transaction: a module and one of its instructions.
        #[derive(Clone, Debug, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(tag = "module", rename_all = "snake_case")]
        pub enum Instruction {
            $( $(#[$doc])* $variant($ops), )*
        }

        impl Instruction {
            /// Every module's name and instruction tag, in registration order.
            pub fn tags() -> Vec<(&'static str, u8)> {
                vec![ $( ($name, $tag), )* ]
            }

            /// `module.operation`, as used in receipts, errors and policies.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Self::$variant(op) => $crate::kit::Operations::name(op), )*
                }
            }

            /// What a protocol version admits the instruction as
            /// ([`Operations::feature`](crate::kit::Operations::feature)).
            pub fn feature(&self) -> &'static str {
                match self {
                    $( Self::$variant(op) => $crate::kit::Operations::feature(op), )*
                }
            }

            /// The module the instruction belongs to.
            pub fn module(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => $name, )*
                }
            }

            /// The accounts the instruction names
            /// ([`Operations::accounts`](crate::kit::Operations::accounts)).
            pub fn accounts(&self) -> Vec<$crate::crypto::AccountId> {
                match self {
                    $( Self::$variant(op) => $crate::kit::Operations::accounts(op), )*
                }
            }

            /// Checks the rules that need no state: lengths, identifiers, non-empty text.
            pub fn validate(&self) -> Result<(), $crate::codec::DecodeError> {
                match self {
                    $( Self::$variant(op) => $crate::kit::Operations::validate(op), )*
                }
            }

            /// The fields where a person types public text
            /// ([`Operations::public_text`](crate::kit::Operations::public_text)).
            pub fn public_text(&self) -> Vec<$crate::personal::PublicText<'_>> {
                match self {
                    $( Self::$variant(op) => $crate::kit::Operations::public_text(op), )*
                }
            }
        }

        impl ::commonware_codec::Write for Instruction {
            fn write(&self, buf: &mut impl ::bytes::BufMut) {
                match self {
                    $( Self::$variant(op) => {
                        ::commonware_codec::Write::write(&($tag as u8), buf);
                        ::commonware_codec::Write::write(op, buf);
                    } )*
                }
            }
        }

        impl ::commonware_codec::EncodeSize for Instruction {
            fn encode_size(&self) -> usize {
                1 + match self {
                    $( Self::$variant(op) => ::commonware_codec::EncodeSize::encode_size(op), )*
                }
            }
        }

        impl ::commonware_codec::Read for Instruction {
            type Cfg = ();
            fn read_cfg(
                buf: &mut impl ::commonware_codec::Buf,
                _: &(),
            ) -> Result<Self, ::commonware_codec::Error> {
                let module = <u8 as ::commonware_codec::ReadExt>::read(buf)?;
                let op = <u8 as ::commonware_codec::ReadExt>::read(buf)?;
                match module {
                    $( $tag => Ok(Self::$variant(
                        <$ops as $crate::kit::Tagged>::read_tagged(op, buf)?,
                    )), )*
                    other => Err(::commonware_codec::Error::InvalidEnum(other)),
                }
            }
        }

        impl ::utoipa::PartialSchema for Instruction {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                use ::utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Type};
                let one_of = OneOfBuilder::new().description(Some(
                    "One operation of a transaction: `module` names the module and `op` its \
                     operation; the other fields are the operation's.",
                ));
                $( let one_of = one_of.item(
                    AllOfBuilder::new()
                        .item(
                            ObjectBuilder::new()
                                .schema_type(Type::Object)
                                .property(
                                    "module",
                                    ObjectBuilder::new()
                                        .schema_type(Type::String)
                                        .enum_values(Some([$name])),
                                )
                                .required("module"),
                        )
                        .item(::utoipa::openapi::Ref::from_schema_name(
                            <$ops as ::utoipa::ToSchema>::name(),
                        )),
                ); )*
                one_of.into()
            }
        }

        impl ::utoipa::ToSchema for Instruction {
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema>,
                )>,
            ) {
                $( $crate::schema::register::<$ops>(schemas); )*
            }
        }

        /// The failure messages of each module, in registration order.
        pub const MODULE_MESSAGES: &[&[(&str, &str)]] =
            &[ $( <$ops as $crate::kit::Operations>::MESSAGES, )* ];

        $( impl From<$ops> for Instruction {
            fn from(op: $ops) -> Self {
                Self::$variant(op)
            }
        } )*

        /// What a command that sends nothing would send (`kit::cli::NoCommands`).
        impl From<::std::convert::Infallible> for Instruction {
            fn from(never: ::std::convert::Infallible) -> Self {
                match never {}
            }
        }

        /// Something that happened on the ledger, as the module that did it records it.
        #[derive(Clone, Debug, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(untagged)]
        pub enum Event {
            $( $(#[$doc])* $variant($events), )*
        }

        impl ::utoipa::PartialSchema for Event {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                let one_of = ::utoipa::openapi::schema::OneOfBuilder::new().description(Some(
                    "Something that happened on the ledger, as the module that did it records \
                     it: `type` names the event.",
                ));
                $( let one_of = one_of.item(::utoipa::openapi::Ref::from_schema_name(
                    <$events as ::utoipa::ToSchema>::name(),
                )); )*
                one_of.into()
            }
        }

        impl ::utoipa::ToSchema for Event {
            fn schemas(
                schemas: &mut Vec<(
                    String,
                    ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema>,
                )>,
            ) {
                $( $crate::schema::register::<$events>(schemas); )*
            }
        }

        impl Event {
            /// Every event's variant name, module by module, in registration order.
            pub fn variant_names() -> Vec<&'static str> {
                let mut names = Vec::new();
                $( names.extend(<$events as $crate::kit::Tagged>::VARIANTS); )*
                names
            }

            /// Every module's name, event tags and event variants, in registration order.
            pub fn tags() -> Vec<(&'static str, $crate::kit::EventTags, &'static [&'static str])> {
                vec![ $( (
                    $name,
                    <$events as $crate::kit::Events>::TAGS,
                    <$events as $crate::kit::Tagged>::VARIANTS,
                ), )* ]
            }

            /// The module that emitted the event.
            pub fn module(&self) -> &'static str {
                match self {
                    $( Self::$variant(_) => $name, )*
                }
            }

            /// The account whose signing keys or standing the event changed, if any
            /// ([`Events::changes_signer`](crate::kit::Events::changes_signer)).
            pub fn changes_signer(&self) -> Option<$crate::crypto::AccountId> {
                match self {
                    $( Self::$variant(event) => $crate::kit::Events::changes_signer(event), )*
                }
            }

            /// The accounts the event names ([`Events::accounts`](crate::kit::Events::accounts)).
            pub fn accounts(&self) -> Vec<$crate::crypto::AccountId> {
                match self {
                    $( Self::$variant(event) => $crate::kit::Events::accounts(event), )*
                }
            }
        }

        impl ::commonware_codec::Write for Event {
            fn write(&self, buf: &mut impl ::bytes::BufMut) {
                match self {
                    $( Self::$variant(event) => {
                        if let $crate::kit::EventTags::Own(tag) =
                            <$events as $crate::kit::Events>::TAGS
                        {
                            ::commonware_codec::Write::write(&tag, buf);
                        }
                        ::commonware_codec::Write::write(event, buf);
                    } )*
                }
            }
        }

        impl ::commonware_codec::EncodeSize for Event {
            fn encode_size(&self) -> usize {
                match self {
                    $( Self::$variant(event) => {
                        let own = match <$events as $crate::kit::Events>::TAGS {
                            $crate::kit::EventTags::Own(_) => 1,
                            $crate::kit::EventTags::Shared(_) => 0,
                        };
                        own + ::commonware_codec::EncodeSize::encode_size(event)
                    } )*
                }
            }
        }

        impl ::commonware_codec::Read for Event {
            type Cfg = ();
            fn read_cfg(
                buf: &mut impl ::commonware_codec::Buf,
                _: &(),
            ) -> Result<Self, ::commonware_codec::Error> {
                let tag = <u8 as ::commonware_codec::ReadExt>::read(buf)?;
                $( match <$events as $crate::kit::Events>::TAGS {
                    $crate::kit::EventTags::Own(own) if own == tag => {
                        return Ok(Self::$variant(
                            <$events as ::commonware_codec::ReadExt>::read(buf)?,
                        ));
                    }
                    $crate::kit::EventTags::Shared(tags) if tags.contains(&tag) => {
                        return Ok(Self::$variant(
                            <$events as $crate::kit::Tagged>::read_tagged(tag, buf)?,
                        ));
                    }
                    _ => {}
                } )*
                Err(::commonware_codec::Error::InvalidEnum(tag))
            }
        }

        $( impl From<$events> for Event {
            fn from(event: $events) -> Self {
                Self::$variant(event)
            }
        } )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_slice, to_vec};
    use crate::governance::GovernanceInstruction;
    use crate::identity::IdentityInstruction;
    use crate::kit::EventTags;
    use crate::notary::NotaryInstruction;
    use crate::procurement::ProcurementInstruction;
    use crate::treasury::TreasuryInstruction;
    use commonware_codec::EncodeSize;

    /// One instruction of every module, through the ledger's encoding and JSON: the module's
    /// tag, then the module's own encoding; `"module"` beside the module's own JSON.
    #[test]
    fn every_module_round_trips_through_the_ledger() {
        let key = crate::crypto::PrivateKey::from_test_seed(1).public_key();
        let instructions: Vec<Instruction> = vec![
            IdentityInstruction::RotateKey { new_key: key }.into(),
            NotaryInstruction::Revoke {
                document: crate::hash::Hash32::sha256(b"d"),
                reason: "superseded".into(),
            }
            .into(),
            GovernanceInstruction::Approve { proposal: 9 }.into(),
            TreasuryInstruction::CloseYear { year: 2026 }.into(),
            ProcurementInstruction::Cancel {
                tender: 4,
                reason: "no need".into(),
            }
            .into(),
        ];
        for (instruction, (name, tag)) in instructions.iter().zip(Instruction::tags()) {
            assert_eq!(instruction.module(), name);
            let bytes = to_vec(instruction);
            assert_eq!(bytes[0], tag);
            assert_eq!(bytes.len(), instruction.encode_size());
            assert_eq!(
                &from_slice::<Instruction>(&bytes, &()).unwrap(),
                instruction
            );
            let json = serde_json::to_value(instruction).unwrap();
            assert_eq!(json["module"], name, "{json}");
            assert_eq!(
                &serde_json::from_value::<Instruction>(json).unwrap(),
                instruction
            );
        }
    }

    proptest::proptest! {
        /// Whatever random bytes decode as an instruction of any module re-encode to the same
        /// bytes: the declared codecs are canonical and never panic.
        #[test]
        fn random_instruction_bytes_decode_canonically(
            module in 0u8..=6,
            op in 0u8..16,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let mut bytes = vec![module, op];
            bytes.extend(body);
            if let Ok(instruction) = from_slice::<Instruction>(&bytes, &()) {
                proptest::prop_assert_eq!(to_vec(&instruction), bytes);
            }
        }

        /// The same for events.
        #[test]
        fn random_event_bytes_decode_canonically(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..300),
        ) {
            if let Ok(event) = from_slice::<Event>(&body, &()) {
                proptest::prop_assert_eq!(to_vec(&event), body);
            }
        }
    }

    /// No two modules share a name, an instruction tag or an event tag.
    #[test]
    fn tags_are_unique() {
        let mut names: Vec<&str> = Instruction::tags().iter().map(|(n, _)| *n).collect();
        let mut tags: Vec<u8> = Instruction::tags().iter().map(|(_, t)| *t).collect();
        names.sort();
        names.dedup();
        tags.sort();
        tags.dedup();
        assert_eq!(names.len(), Instruction::tags().len());
        assert_eq!(tags.len(), Instruction::tags().len());
        let mut event_tags: Vec<u8> = Event::tags()
            .iter()
            .flat_map(|(_, t, _)| match t {
                EventTags::Own(tag) => vec![*tag],
                EventTags::Shared(tags) => tags.to_vec(),
            })
            .collect();
        let all = event_tags.len();
        event_tags.sort();
        event_tags.dedup();
        assert_eq!(event_tags.len(), all, "two modules claim one event tag");
    }

    /// A module sharing the tag space lists one tag per event variant, each of which reads
    /// back: an event whose tag is missing from `TAGS` would be written and never read.
    #[test]
    fn shared_tags_cover_every_event() {
        for (name, tags, variants) in Event::tags() {
            let EventTags::Shared(tags) = tags else {
                continue;
            };
            assert_eq!(
                tags.len(),
                variants.len(),
                "{name}: {tags:?} for {variants:?}"
            );
            for tag in tags {
                // An all-zero body after the tag reads as the variant or fails on a field; a
                // tag no variant declares fails on the tag itself.
                let mut bytes = vec![*tag];
                bytes.extend([0u8; 256]);
                let mut buf = commonware_codec::Copying(&bytes[..]);
                let read = <Event as commonware_codec::Read>::read_cfg(&mut buf, &());
                assert!(
                    !matches!(read, Err(commonware_codec::Error::InvalidEnum(t)) if t == *tag),
                    "{name} lists tag {tag} but declares no event with it"
                );
            }
        }
    }

    /// An event's JSON is its module's own, told apart by `"type"` alone: no two modules may
    /// name an event alike.
    #[test]
    fn event_names_are_unique_across_modules() {
        let mut names = Event::variant_names();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all, "two modules name an event alike");
        assert!(all >= 11 + 2, "{names:?}");
    }
}
