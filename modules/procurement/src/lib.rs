//! The procurement module: tenders, sealed bids, evaluation, awards, contracts and milestones.
//!
//! Its vocabulary (instructions, events, records) is the package in `types/`; this package
//! holds the rest of the module as the kit brings it here (see `docs/MODULES.md`): today its
//! command line, [`cli`].

pub mod cli;
