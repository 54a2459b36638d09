//! The readers: one file per input format, all producing [`crate::model`] types.

pub mod common;
pub mod cyclonedx;
pub mod cyclonedx_json;
pub mod cyclonedx_xml;
pub mod grype;
pub mod osv;
pub mod spdx_json;
pub mod spdx_tag;
pub mod trivy;
