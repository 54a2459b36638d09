//! One module per subcommand.

pub(crate) mod catalog;
pub(crate) mod check;
pub(crate) mod checks;
pub(crate) mod noise;
