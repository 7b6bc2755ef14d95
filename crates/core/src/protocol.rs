//! Protocol versions: which instructions a block may hold, and how a running network adopts
//! new ones.
//!
//! Adding a module, an instruction or a governance action changes what a valid block may
//! contain, and a release that does not know the change cannot decode such a block. So every
//! block says, in its header, the protocol version it was made under, and the ledger decides
//! which version is active at each height: version 1 from genesis, and each later version from
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
#[derive(Clone, Copy, Debug)]
pub struct Protocol {
    /// The version number (1, 2, ...).
    pub version: u16,
    /// The first release that runs it (`0.1.0`): what a node that does not know the version is
    /// told to install.
    pub release: &'static str,
    /// Whether a block under this version may hold `instruction`. A version's rule never
    /// changes once released: a later release adding an instruction adds a version whose rule
    /// admits it, and keeps the earlier versions' rules refusing it.
    pub admits: fn(&Instruction) -> bool,
}

impl PartialEq for Protocol {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.release == other.release
    }
}

impl Eq for Protocol {}

/// The protocol versions a release knows, oldest first, numbered 1, 2, ... without gaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocols(pub &'static [Protocol]);

fn every_instruction(_: &Instruction) -> bool {
    true
}

/// The versions this release knows.
///
/// Version 1 admits every instruction of the five modules as they stood when protocol versions
/// were introduced (identity, notary, governance with `schedule_upgrade`, treasury,
/// procurement). The next module or instruction adds version 2, admitted by a rule naming it,
/// and changes version 1's rule to refuse it.
pub const PROTOCOLS: Protocols = Protocols(&[Protocol {
    version: 1,
    release: "0.1.0",
    admits: every_instruction,
}]);

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

    /// Why a node running these versions cannot go on at `height`, where `version` (first run
    /// by `release`, as the schedule on the ledger says) is active; `None` if it can.
    pub fn cannot_follow(&self, version: u16, height: u64, release: &str) -> Option<String> {
        if self.get(version).is_some() {
            return None;
        }
        Some(format!(
            "protocol version {version} is active from block {height}, and this release \
             (civitas {}) runs protocol versions {}: install civitas {release} or later, then \
             start the node again. This node stopped before applying block {height}; its data \
             is kept and the new release continues from it",
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

    #[test]
    fn a_node_without_the_version_is_told_which_release_to_install() {
        assert_eq!(PROTOCOLS.cannot_follow(1, 9, "0.1.0"), None);
        let message = PROTOCOLS.cannot_follow(2, 120, "0.2.0").unwrap();
        assert!(message.contains("protocol version 2 is active from block 120"));
        assert!(message.contains("install civitas 0.2.0 or later"));
        assert!(message.contains("runs protocol versions 1:"));
    }
}
