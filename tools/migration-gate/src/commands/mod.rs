pub(crate) mod checks;
pub(crate) mod dry_run;
pub(crate) mod lint;
pub(crate) mod parity;
pub(crate) mod search;
