//! The sbom-diff binary run as a user runs it.
