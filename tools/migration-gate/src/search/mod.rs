//! Search schema migrations on Typesense (0.24): versioned collection schemas behind an
//! alias (`plan`), a parity-proven reindex into the next version with writes followed
//! (`reindex`), the atomic alias flip and its rollback (`flip`), retention (`gc`), and the
//! API keys clients hold (`keys`).

pub(crate) mod client;
pub(crate) mod flip;
pub(crate) mod keys;
pub(crate) mod parity;
pub(crate) mod plan;
pub(crate) mod reindex;
pub(crate) mod schema;
pub(crate) mod source;
