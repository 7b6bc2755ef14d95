//! Treasury: fiscal years, appropriations adopted by the finance authority, allotments,
//! commitments to registered vendors and payments against them, with limits that execution
//! enforces and running totals that each carry a proof.

pub mod handler;
pub mod state;
