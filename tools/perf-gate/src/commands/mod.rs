pub(crate) mod convert;
pub(crate) mod headroom;
pub(crate) mod merge;
pub(crate) mod run;
