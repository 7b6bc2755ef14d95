//! Protocol versions: which instructions a block may hold, and how a running network adopts
//! new ones.
//!
//! Adding a module, an instruction or a governance action changes what a valid block may
//! contain, and a release that does not know the change cannot decode such a block. So every
//! block says, in its header, the protocol version it was made under, and the ledger decides
//! which version is active at each height: the version the genesis names (1 unless it names
//! another) from the first block, and each later version from
//! the height an approved governance proposal (`schedule_upgrade`) set. The schedule is ledger
//! state, so every node agrees on it whatever release it runs.
//!
//! A release knows a table of versions ([`PROTOCOLS`]): for each, the first release that runs
//! it and which instructions it admits. Below the activation height a release that already
//! knows the next version keeps to the active one (a block holding an instruction the active
//! version does not admit is invalid, and the mempool refuses it), so old and new releases
//! agree block by block; from the activation height on, a node whose release does not know the
//! active version stops before applying anything and says which release to install.

use crate::instruction::Instruction;

/// One protocol version, as a release knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocol {
    /// The version number (1, 2, ...).
    pub version: u16,
    /// The first release that runs it (`0.1.0`): what a node that does not know the version is
    /// told to install.
    pub release: &'static str,
    /// What a block under this version may hold: instruction features
    /// ([`Instruction::feature`]: `notary.anchor`, `governance.propose.add_validator`), as the
    /// lists each version up to this one added (`&[VERSION_1, ADDED_IN_2]`). Frozen
    /// allow-lists: a feature added by a later release is in none of them, so every version
    /// released before that feature refuses it, whatever the release checking.
    pub features: &'static [&'static [&'static str]],
}

impl Protocol {
    /// Whether a block under this version may hold `instruction`.
    pub fn admits(&self, instruction: &Instruction) -> bool {
        self.admits_feature(instruction.feature())
    }

    /// Whether a block under this version may hold an instruction of `feature`.
    pub fn admits_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|added| added.contains(&feature))
    }

    /// Every feature this version admits.
    pub fn all_features(&self) -> impl Iterator<Item = &'static str> {
        self.features.iter().flat_map(|added| added.iter().copied())
    }
}

/// The versions a release knows, oldest first, numbered 1, 2, ... without gaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocols(pub &'static [Protocol]);

/// Version 1: the instructions of the five modules as they stood when protocol versions were
/// introduced. Never changed: a release that adds an instruction adds a version.
pub const VERSION_1: &[&str] = &[
    "identity.register_official",
    "identity.register_citizen",
    "identity.set_roles",
    "identity.rotate_key",
    "identity.deactivate",
    "identity.set_keys",
    "notary.anchor",
    "notary.revoke",
    "governance.propose.add_validator",
    "governance.propose.remove_validator",
    "governance.propose.set_threshold",
    "governance.propose.set_policy",
    "governance.propose.remove_policy",
    "governance.propose.add_agency",
    "governance.propose.retire_agency",
    "governance.propose.rename_agency",
    "governance.propose.schedule_upgrade",
    "governance.approve",
    "treasury.open_year",
    "treasury.close_year",
    "treasury.register_vendor",
    "treasury.appropriate",
    "treasury.adjust_appropriation",
    "treasury.allot",
    "treasury.commit",
    "treasury.adjust_commitment",
    "treasury.pay",
    "treasury.reverse_payment",
    "procurement.plan",
    "procurement.publish",
    "procurement.clarify",
    "procurement.bid",
    "procurement.open",
    "procurement.evaluate",
    "procurement.award",
    "procurement.complain",
    "procurement.sign",
    "procurement.accept",
    "procurement.amend",
    "procurement.cancel",
    "procurement.import_release",
];

/// Added by version 2: the register of official notices.
pub const ADDED_IN_2: &[&str] = &["notices.publish", "notices.withdraw"];

/// Added by version 3: personal data kept off the ledger — encryption keys and key recovery,
/// and the sharing module (records held in vaults, legal bases, consent, shares, the access
/// log).
pub const ADDED_IN_3: &[&str] = &[
    "identity.set_encryption_key",
    "identity.recover_key",
    "identity.cancel_recovery",
    "identity.complete_recovery",
    "sharing.register",
    "sharing.rectify",
    "sharing.erase",
    "sharing.consent",
    "sharing.revoke_consent",
    "sharing.request",
    "sharing.access",
    "sharing.set_vault",
];

/// Added by version 4: the permits module (permit types, applications, decisions, deadlines
/// acted on at the end of each block, licences).
pub const ADDED_IN_4: &[&str] = &[
    "permits.define_type",
    "permits.retire_type",
    "permits.apply",
    "permits.record_fee",
    "permits.complete_step",
    "permits.request_information",
    "permits.provide_information",
    "permits.decide",
    "permits.withdraw",
    "permits.appeal",
    "permits.decide_appeal",
    "permits.amend",
    "permits.change_licence",
];

/// The versions this release knows. The next module or instruction adds version 5: an
/// `ADDED_IN_5` list, and version 5's features are version 4's lists and that one.
pub const PROTOCOLS: Protocols = Protocols(&[
    Protocol {
        version: 1,
        release: "0.1.0",
        features: &[VERSION_1],
    },
    Protocol {
        version: 2,
        release: "0.2.0",
        features: &[VERSION_1, ADDED_IN_2],
    },
    Protocol {
        version: 3,
        release: "0.3.0",
        features: &[VERSION_1, ADDED_IN_2, ADDED_IN_3],
    },
    Protocol {
        version: 4,
        release: "0.4.0",
        features: &[VERSION_1, ADDED_IN_2, ADDED_IN_3, ADDED_IN_4],
    },
]);

impl Default for Protocols {
    fn default() -> Self {
        PROTOCOLS
    }
}

impl Protocols {
    /// The version `version`, if this release knows it.
    pub fn get(&self, version: u16) -> Option<&'static Protocol> {
        self.0.iter().find(|p| p.version == version)
    }

    /// The newest version this release knows.
    pub fn newest(&self) -> u16 {
        self.0.iter().map(|p| p.version).max().unwrap_or(1)
    }

    /// The versions, as a person reads them: `1`, `1 and 2`, `1 to 3`.
    pub fn describe(&self) -> String {
        let newest = self.newest();
        match newest {
            1 => "1".into(),
            2 => "1 and 2".into(),
            n => format!("1 to {n}"),
        }
    }

    /// Why a node running these versions cannot go on at `height`, where `version` is active
    /// (first run by `release`, when the schedule on the ledger says; height 0 for the version
    /// a chain's genesis starts at); `None` if it can.
    pub fn cannot_follow(
        &self,
        version: u16,
        height: u64,
        release: Option<&str>,
    ) -> Option<String> {
        if self.get(version).is_some() {
            return None;
        }
        let (active, stopped) = if height == 0 {
            (
                "is this chain's from its genesis".to_string(),
                "any block".to_string(),
            )
        } else {
            (
                format!("is active from block {height}"),
                format!("block {height}"),
            )
        };
        let install = match release {
            Some(release) => format!("civitas {release} or later"),
            None => format!("a release that runs protocol version {version}"),
        };
        Some(format!(
            "protocol version {version} {active}, and this release (civitas {}) runs protocol \
             versions {}: install {install}, then start the node again. This node stopped \
             before applying {stopped}; its data is kept and the new release continues from it",
            env!("CARGO_PKG_VERSION"),
            self.describe()
        ))
    }
}

/// The exit status of a node that stopped because its release does not know the active
/// protocol version (`EX_CONFIG`): a service manager should not restart it until the release
/// is replaced (`RestartPreventExitStatus=78` in systemd).
pub const EXIT_UPGRADE_REQUIRED: i32 = 78;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_numbered_from_1_without_gaps() {
        for (index, protocol) in PROTOCOLS.0.iter().enumerate() {
            assert_eq!(protocol.version as usize, index + 1);
            assert!(!protocol.release.is_empty());
        }
        assert_eq!(PROTOCOLS.newest() as usize, PROTOCOLS.0.len());
    }

    /// Every instruction this release declares is admitted by its newest version (or it
    /// could never be used), and no version lists a feature that does not exist.
    #[test]
    fn the_newest_version_admits_exactly_the_declared_instructions() {
        use crate::kit::Tagged;
        let snake = |variant: &str| crate::kit::kebab(variant).replace('-', "_");
        let mut declared = std::collections::BTreeSet::new();
        macro_rules! declared {
            ($( $(#[$doc:meta])* $variant:ident = $tag:literal, $name:literal :
                $ops:ty, $events:ty => $module:path; )*) => {
                $(
                    for variant in <$ops as Tagged>::VARIANTS {
                        declared.insert(format!("{}.{}", $name, snake(variant)));
                    }
                )*
            };
        }
        crate::for_each_module!(declared);
        // A governance proposal is admitted by the kind of its action.
        declared.remove("governance.propose");
        for kind in crate::governance::GovernanceAction::KINDS {
            declared.insert(format!("governance.propose.{kind}"));
        }
        let newest = PROTOCOLS.get(PROTOCOLS.newest()).unwrap();
        let admitted: std::collections::BTreeSet<String> =
            newest.all_features().map(str::to_string).collect();
        assert_eq!(admitted, declared);
        let mut seen = std::collections::BTreeSet::new();
        for protocol in PROTOCOLS.0 {
            for feature in protocol.all_features() {
                assert!(declared.contains(feature), "{feature} does not exist");
            }
        }
        // Each version admits everything the one before it did (its lists are the earlier
        // version's and one more), and a feature is added once.
        for pair in PROTOCOLS.0.windows(2) {
            let (before, after) = (pair[0].features, pair[1].features);
            assert_eq!(after.len(), before.len() + 1, "version {}", pair[1].version);
            assert_eq!(
                &after[..before.len()],
                before,
                "version {}",
                pair[1].version
            );
        }
        for added in newest.features {
            for feature in *added {
                assert!(seen.insert(*feature), "{feature} is added twice");
            }
        }
    }

    #[test]
    fn a_node_without_the_version_is_told_which_release_to_install() {
        assert_eq!(PROTOCOLS.cannot_follow(1, 9, Some("0.1.0")), None);
        assert_eq!(PROTOCOLS.cannot_follow(2, 9, Some("0.2.0")), None);
        assert_eq!(PROTOCOLS.cannot_follow(3, 9, Some("0.3.0")), None);
        assert_eq!(PROTOCOLS.cannot_follow(4, 9, Some("0.4.0")), None);
        let message = PROTOCOLS.cannot_follow(5, 120, Some("0.5.0")).unwrap();
        assert!(message.contains("protocol version 5 is active from block 120"));
        assert!(message.contains("install civitas 0.5.0 or later"));
        assert!(message.contains("runs protocol versions 1 to 4:"));
        assert!(message.contains("stopped before applying block 120"));
        // A chain whose genesis starts at a version this release does not run.
        let message = PROTOCOLS.cannot_follow(5, 0, None).unwrap();
        assert!(message.contains("protocol version 5 is this chain's from its genesis"));
        assert!(message.contains("install a release that runs protocol version 5"));
        assert!(message.contains("stopped before applying any block"));
    }
}
