//! Identity's part of the portal: its forms in the agency console.

use civitas_kit::portal::{Action, field};

/// Identity's forms in the agency console.
pub const ACTIONS: &[Action] = &[Action {
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
}];
