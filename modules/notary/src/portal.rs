//! The notary's part of the portal: its forms in the agency console.

use civitas_kit::portal::{Action, field};

/// The notary's forms in the agency console.
pub const ACTIONS: &[Action] = &[
    Action {
        module: "notary",
        op: "anchor",
        title: "Notarise a document",
        who: "a notary of the agency",
        roles: &["notary"],
        fields: &[
            field(
                "document",
                "Document",
                "filehash",
                "the file is hashed here and never uploaded",
                "",
            ),
            field("title", "Title", "text", "", ""),
            field("metadata", "", "json", "", "[]"),
        ],
    },
    Action {
        module: "notary",
        op: "revoke",
        title: "Revoke a document",
        who: "a notary of the issuing agency",
        roles: &["notary"],
        fields: &[
            field(
                "document",
                "Document SHA-256",
                "hex32",
                "64 hexadecimal characters",
                "",
            ),
            field(
                "reason",
                "Reason",
                "text",
                "shown to everyone who checks the document",
                "",
            ),
        ],
    },
];
