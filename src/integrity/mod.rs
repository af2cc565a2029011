//! integrity: tamper evidence for the store, after CloudTrail's log file validation.
//!
//! - [`canonical`]: how a stored row becomes the bytes a digest covers.
//! - [`chain`]: one record per committed batch and per retention purge, each hashing the
//!   one before; checkpoints sign the head with the store's Ed25519 key ([`keys`]).
//! - [`verify`]: recompute it all from the rows as stored (`trustpath verify --store`) and
//!   name the first broken link and the kind of change.
//!
//! Exports (`crate::export`) carry the records that cover their window, so an export is
//! checked offline by the same [`verify::check_links`].

pub mod canonical;
pub mod chain;
pub mod keys;
pub mod verify;

pub use chain::{Chain, Checkpoint, Link, PurgeReport};
pub use keys::{PublicKey, Signer};
