pub(crate) mod checks;
pub(crate) mod claim;
pub(crate) mod lag;
pub(crate) mod redrive;
pub(crate) mod replay;
pub(crate) mod triage;
pub(crate) mod verify;
