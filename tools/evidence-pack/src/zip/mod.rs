//! The evidence zip's two halves: a deterministic writer for `build` and a defensive reader
//! for `verify`, which holds every byte to what the writer makes.

pub(crate) mod read;
pub(crate) mod write;
