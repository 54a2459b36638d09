pub(crate) mod checks;
