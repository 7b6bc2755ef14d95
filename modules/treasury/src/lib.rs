//! The treasury module: fiscal years, appropriations, allotments, commitments and payments.
//!
//! Its vocabulary (instructions, events, records) is the package in `types/`; this package
//! holds the rest of the module as the kit brings it here (see `docs/MODULES.md`): today its
//! command line, [`cli`].

pub mod cli;
