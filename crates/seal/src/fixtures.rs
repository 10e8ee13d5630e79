//! A demo sealed artifact for tests, examples and benchmarks (feature `fixtures`): fixed keys, one
//! recipient, one purpose, an `allow` consent, and pseudo-random content that nothing compresses.
//!
//! The keys are derived from constants, not drawn: a benchmark measures sealing, not key
//! generation, and a test can name them. Never enable this feature in a build that ships: the
//! keys are public.

use p256::ecdsa::SigningKey;

use crate::SealError;
use crate::artifact::ArtifactBuilder;
use crate::envelope::{SealedEnvelope, seal_artifact};
use crate::keys::RecipientKey;
use crate::manifest::{ConsentDecision, ConsentRef};
use crate::pseudonym::PseudonymSecret;

/// The demo recipient's id.
pub const RECIPIENT_ID: &str = "clinic-a";
/// The demo purpose.
pub const PURPOSE: &str = "care";
/// The demo content's name.
pub const CONTENT_NAME: &str = "model.stl";

/// `len` pseudo-random bytes (xorshift64 from a fixed seed): the same bytes on every run, and
/// nothing for a compressor or a short-cut to exploit.
pub fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// An `allow` decision resting on the consent event with hash `event_hash`.
pub fn allow(event_hash: Option<[u8; 32]>) -> ConsentRef {
    ConsentRef {
        decision: ConsentDecision::Allow,
        event_hash,
        context: None,
    }
}

/// The demo parties: a client signing key, a recipient key pair and a subject's pseudonym secret.
#[derive(Debug)]
pub struct Demo {
    /// The client's ES256 key.
    pub client: SigningKey,
    /// The recipient's HPKE key pair.
    pub recipient: RecipientKey,
    /// The subject's pseudonym secret.
    pub secret: PseudonymSecret,
}

impl Demo {
    /// The fixed demo keys.
    ///
    /// # Errors
    /// Only if a constant stopped being a valid key (a defect of this module).
    pub fn new() -> Result<Self, SealError> {
        Ok(Demo {
            client: SigningKey::from_slice(&[3; 32])
                .map_err(|e| SealError::BadKey(e.to_string()))?,
            recipient: RecipientKey::derive(b"benchmark recipient key material")?,
            secret: PseudonymSecret::from_bytes(&[1; 32])?,
        })
    }

    /// A builder for [`RECIPIENT_ID`] and [`PURPOSE`] on an `allow` decision, created at
    /// `created_ms`, with no content yet.
    pub fn builder(&self, created_ms: u64) -> ArtifactBuilder {
        ArtifactBuilder::new(
            self.secret.pseudonym(RECIPIENT_ID, PURPOSE),
            PURPOSE,
            RECIPIENT_ID,
            allow(Some([2; 32])),
            created_ms,
        )
    }

    /// `files` signed by the client and sealed to the recipient.
    ///
    /// # Errors
    /// As [`ArtifactBuilder::add_file`], [`ArtifactBuilder::sign`] and [`seal_artifact`].
    pub fn sealed(&self, files: &[(&str, &[u8])]) -> Result<SealedEnvelope, SealError> {
        let mut b = self.builder(0);
        for (name, data) in files {
            b.add_file(name, data.to_vec())?;
        }
        seal_artifact(b.sign(&self.client)?, self.recipient.public_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_artifact_opens_with_the_demo_recipient() {
        let demo = Demo::new().unwrap();
        let content = pseudo_random(1000);
        let env = demo.sealed(&[(CONTENT_NAME, &content)]).unwrap();
        let opened = crate::open(
            env.as_bytes(),
            &demo.recipient,
            Some(demo.client.verifying_key()),
        )
        .unwrap();
        assert_eq!(opened.artifact.files[CONTENT_NAME], content);
        assert_eq!(opened.artifact.manifest.purpose, PURPOSE);
        assert_eq!(pseudo_random(16), pseudo_random(16));
    }
}
