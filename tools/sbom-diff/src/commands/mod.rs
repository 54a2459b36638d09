pub(crate) mod checks;
pub(crate) mod diff;
