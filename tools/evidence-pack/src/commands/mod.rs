pub(crate) mod audit_append;
pub(crate) mod audit_verify;
pub(crate) mod build;
pub(crate) mod checks;
pub(crate) mod gate;
pub(crate) mod keygen;
pub(crate) mod provenance;
pub(crate) mod verify;
