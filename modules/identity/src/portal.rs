//! Identity's part of the portal: its forms in the agency console.

use civitas_kit::portal::{Action, field};

/// Identity's forms in the agency console.
pub const ACTIONS: &[Action] = &[
    Action {
        module: "identity",
        op: "register_official",
        title: "Register an official",
        who: "an admin of the agency",
        roles: &["admin"],
        fields: &[
            field(
                "key",
                "Public key",
                "hex32",
                "64 hexadecimal characters, from their key file",
                "",
            ),
            field("agency", "Agency", "text", "", "{agency}"),
            field("name", "Name", "text", "", ""),
            field(
                "roles",
                "Roles",
                "list",
                "comma-separated, such as notary, treasurer",
                "",
            ),
        ],
    },
    Action {
        module: "identity",
        op: "register_citizen",
        title: "Register a citizen's or business's account",
        who: "an admin or registrar; only the key goes on the ledger, never the person's details",
        roles: &["admin", "registrar"],
        fields: &[field(
            "key",
            "Public key",
            "hex32",
            "64 hexadecimal characters, from the person's key file",
            "",
        )],
    },
    Action {
        module: "identity",
        op: "recover_key",
        title: "Start a key recovery",
        who: "an admin or registrar, having checked the holder's identity in person; the holder can \
          cancel with the old key until it is completed",
        roles: &["admin", "registrar"],
        fields: &[
            field(
                "account",
                "Account",
                "hex32",
                "the account whose holder lost its keys",
                "",
            ),
            field(
                "new_key",
                "New public key",
                "hex32",
                "64 hexadecimal characters, from the holder's new key file",
                "",
            ),
            field(
                "delay_hours",
                "Delay (hours)",
                "u64",
                "hours of block time before it can be completed; the default policies ask 72 or more",
                "72",
            ),
        ],
    },
    Action {
        module: "identity",
        op: "cancel_recovery",
        title: "Cancel a key recovery",
        who: "an admin or registrar (the holder cancels its own with `civitas tx`)",
        roles: &["admin", "registrar"],
        fields: &[field("account", "Account", "hex32", "", "")],
    },
    Action {
        module: "identity",
        op: "complete_recovery",
        title: "Complete a key recovery",
        who: "an admin or registrar, once the delay has passed",
        roles: &["admin", "registrar"],
        fields: &[field("account", "Account", "hex32", "", "")],
    },
];
