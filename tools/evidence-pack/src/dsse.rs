//! DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding, the envelope,
//! the in-toto Statement v1 it carries, and the Sigstore bundle v0.3 that wraps it for
//! cosign. Written here (a page of code) instead of pulling the `sigstore` crate (pre-1.0,
//! network stack by default) or the `in-toto` crate (Statement v0.1 only).

use base64ct::{Base64, Base64Url, Encoding as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::keys::{PublicKey, SigningKey};

pub(crate) const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub(crate) const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub(crate) const PREDICATE_TYPE: &str = "https://gatehouse.dev/evidence-pack/v1";
pub(crate) const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body.
pub(crate) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Signature {
    pub(crate) keyid: String,
    pub(crate) sig: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Envelope {
    pub(crate) payload_type: String,
    pub(crate) payload: String,
    pub(crate) signatures: Vec<Signature>,
}

impl Envelope {
    /// Signs `payload` with `key`; the signature carries the key's keyid.
    pub(crate) fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
        let sig = key.sign(&pae(payload_type, payload));
        Envelope {
            payload_type: payload_type.to_owned(),
            payload: Base64::encode_string(payload),
            signatures: vec![Signature {
                keyid: key.public().keyid(),
                sig: Base64::encode_string(&sig),
            }],
        }
    }

    /// The decoded payload (DSSE allows standard or URL-safe base64).
    pub(crate) fn payload_bytes(&self) -> Option<Vec<u8>> {
        decode_b64(&self.payload)
    }

    /// Checks the signatures against `key`. Ok(()) when one signature by that key is valid;
    /// Err says why not (no signature by that keyid, or an invalid one).
    pub(crate) fn verify(&self, key: &PublicKey) -> Result<(), String> {
        let Some(payload) = self.payload_bytes() else {
            return Err("the payload is not valid base64".to_owned());
        };
        let message = pae(&self.payload_type, &payload);
        let keyid = key.keyid();
        let mut other_keyids = Vec::new();
        for s in &self.signatures {
            // An empty keyid is allowed by DSSE; then we try the key anyway.
            if !s.keyid.is_empty() && s.keyid != keyid {
                other_keyids.push(s.keyid.clone());
                continue;
            }
            let Some(sig) = decode_b64(&s.sig) else {
                return Err("a signature is not valid base64".to_owned());
            };
            if key.verify(&message, &sig) {
                return Ok(());
            }
            return Err(format!(
                "the signature by keyid {} does not verify: the statement was changed or signed by another key",
                short(&keyid)
            ));
        }
        if self.signatures.is_empty() {
            return Err("the envelope has no signatures".to_owned());
        }
        Err(format!(
            "signed by keyid {}, not by the given key (keyid {})",
            other_keyids
                .iter()
                .map(|k| short(k))
                .collect::<Vec<_>>()
                .join(", "),
            short(&keyid)
        ))
    }
}

fn short(keyid: &str) -> &str {
    keyid.get(..16).unwrap_or(keyid)
}

pub(crate) fn decode_b64(s: &str) -> Option<Vec<u8>> {
    Base64::decode_vec(s)
        .ok()
        .or_else(|| Base64Url::decode_vec(s).ok())
        .or_else(|| base64ct::Base64Unpadded::decode_vec(s).ok())
        .or_else(|| base64ct::Base64UrlUnpadded::decode_vec(s).ok())
}

/// One subject of the statement: a file of the pack and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Subject {
    pub(crate) name: String,
    pub(crate) digest: std::collections::BTreeMap<String, String>,
}

/// The in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Statement {
    #[serde(rename = "_type")]
    pub(crate) statement_type: String,
    pub(crate) subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub(crate) predicate_type: String,
    pub(crate) predicate: Value,
}

/// The Sigstore bundle v0.3 for a key-signed DSSE envelope: no certificate, no log entry
/// (keyless signing with Fulcio/Rekor needs a network; see docs/evidence-pack.md).
pub(crate) fn sigstore_bundle(envelope: &Envelope, key: &PublicKey) -> Value {
    json!({
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": key.keyid()},
            "tlogEntries": [],
            "timestampVerificationData": {}
        },
        "dsseEnvelope": {
            "payload": envelope.payload,
            "payloadType": envelope.payload_type,
            "signatures": envelope.signatures.iter().map(|s| json!({"sig": s.sig, "keyid": s.keyid})).collect::<Vec<_>>()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    proptest! {
        #[test]
        fn base64_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            let s = Base64::encode_string(&bytes);
            prop_assert_eq!(decode_b64(&s), Some(bytes));
        }
    }
}
