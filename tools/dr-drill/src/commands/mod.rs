pub(crate) mod checks;
pub(crate) mod cutback;
pub(crate) mod failover;
pub(crate) mod freshness;
pub(crate) mod restore;
