pub(crate) mod canary;
pub(crate) mod checks;
pub(crate) mod run;
pub(crate) mod slo;
