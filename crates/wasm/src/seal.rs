//! `pseudonym`, `sealArtifact` and `openArtifact`: `veil-seal`'s pseudonyms, signed artifacts and
//! `VEIL-1` HPKE envelopes, with the same inputs and defaults as `veil seal` / `veil open`
//! (`docs/artifact-format.md`), so an envelope sealed in a portal opens with `veil open` and at the
//! ingest server, and the other way round.

use js_sys::{Array, Object};
use veil_seal::names::{Namer, Role};
use veil_seal::{
    ArtifactBuilder, ConsentDecision, ConsentRef, DeviceEvidence, PseudonymSecret, RecipientKey,
    RecipientPublicKey, UnsignedArtifact,
};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::VeilError;
use crate::js;
use crate::webcrypto::Subtle;

/// The pseudonym secret: 32 raw bytes, or 64 hex digits (text or bytes), as `--pseudonym-secret`.
fn secret(v: &JsValue) -> Result<PseudonymSecret, VeilError> {
    let raw = match v.as_string() {
        Some(s) => s.into_bytes(),
        None => js::bytes(v, "pseudonym secret")?,
    };
    Ok(PseudonymSecret::parse(&raw)?)
}

/// The recipient's public key: PEM `PUBLIC KEY` text, or a SEC1 point (33 or 65 bytes).
fn recipient_key(v: &JsValue) -> Result<RecipientPublicKey, VeilError> {
    if let Some(pem) = v.as_string() {
        return Ok(RecipientPublicKey::from_public_key_pem(&pem)?);
    }
    Ok(RecipientPublicKey::from_sec1_bytes(&js::bytes(
        v,
        "recipientKey",
    )?)?)
}

fn required_text(options: &JsValue, name: &str) -> Result<String, VeilError> {
    js::string_field(options, name)?
        .ok_or_else(|| VeilError::argument(format!("options.{name} is required")))
}

/// The pseudonym of a subject for a recipient and purpose: HMAC-SHA256 under the subject's secret,
/// 52 lowercase base32 characters; the same value `veil seal` puts in the manifest.
#[wasm_bindgen(js_name = pseudonym)]
pub fn pseudonym(
    #[wasm_bindgen(js_name = secret, unchecked_param_type = "Uint8Array | string")]
    secret_in: JsValue,
    #[wasm_bindgen(js_name = recipientId)] recipient_id: String,
    purpose: String,
) -> Result<String, VeilError> {
    Ok(secret(&secret_in)?
        .pseudonym(&recipient_id, &purpose)
        .as_str()
        .to_owned())
}

/// A file to seal: the portal's name (a role hint only), its bytes copied into wasm, and its SHA-256
/// started in WebCrypto when the host has it.
struct InputFile {
    hint: String,
    bytes: Vec<u8>,
    sha256: Option<wasm_bindgen_futures::JsFuture>,
}

/// One file's bytes, copied, and its WebCrypto digest started in the same turn (so both see the
/// same bytes, whatever the page does with its array while the digest runs).
fn input_file(
    hint: String,
    value: &JsValue,
    what: &str,
    subtle: Option<&Subtle>,
) -> Result<InputFile, VeilError> {
    let bytes = js::bytes(value, what)?;
    let sha256 = subtle.and_then(|s| s.start_sha256(value).ok());
    Ok(InputFile {
        hint,
        bytes,
        sha256,
    })
}

/// The files argument: `{name: Uint8Array}` or `[{name, bytes}]`.
fn files(v: &JsValue, subtle: Option<&Subtle>) -> Result<Vec<InputFile>, VeilError> {
    let bad = || {
        VeilError::argument(
            "files must be an object {name: Uint8Array} or an array of {name, bytes}",
        )
    };
    if Array::is_array(v) {
        return Array::from(v)
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let name = js::string_field(&item, "name")?.ok_or_else(bad)?;
                let bytes = js::field(&item, "bytes")?;
                input_file(name, &bytes, &format!("files[{i}].bytes"), subtle)
            })
            .collect();
    }
    if !v.is_object() {
        return Err(bad());
    }
    Object::entries(v.unchecked_ref())
        .iter()
        .map(|pair| {
            let pair = Array::from(&pair);
            let name = pair.get(0).as_string().ok_or_else(bad)?;
            // Named by position: the portal's file name may be a person's and must not be echoed.
            input_file(name, &pair.get(1), "a value of files", subtle)
        })
        .collect()
}

fn evidence(v: &JsValue) -> Result<Vec<DeviceEvidence>, VeilError> {
    if js::is_absent(v) {
        return Ok(Vec::new());
    }
    if !Array::is_array(v) {
        return Err(VeilError::argument(
            "evidence must be an array of {reading, chain, challengeSalt}",
        ));
    }
    Array::from(v)
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let reading = js::bytes(
                &js::field(&item, "reading")?,
                &format!("evidence[{i}].reading"),
            )?;
            let chain_v = js::field(&item, "chain")?;
            let chain = if js::is_absent(&chain_v) {
                Vec::new()
            } else if let Some(pem) = chain_v.as_string() {
                veil_seal::keys::certificate_chain_from_bytes(pem.as_bytes())?
            } else {
                js::byte_list(&chain_v, &format!("evidence[{i}].chain"))?
            };
            let salt_v = js::field(&item, "challengeSalt")?;
            let challenge_salt = if js::is_absent(&salt_v) {
                None
            } else {
                Some(crate::trust::challenge_salt(
                    &salt_v,
                    &format!("evidence[{i}].challengeSalt"),
                )?)
            };
            Ok(DeviceEvidence {
                reading,
                chain,
                challenge_salt,
            })
        })
        .collect()
}

/// How the artifact gets its ES256 signature.
enum ClientSigner {
    /// A client key given as PEM (held in wasm memory, zeroized on drop).
    Key(veil_seal::SigningKey),
    /// A JavaScript function signing the `Sig_structure` (e.g. with a non-extractable WebCrypto
    /// key), and the client's public key it signs for.
    External(js_sys::Function, veil_seal::VerifyingKey),
}

/// A verifying key from PEM `PUBLIC KEY` text or SEC1 bytes.
fn public_key(v: &JsValue, what: &str) -> Result<veil_seal::VerifyingKey, VeilError> {
    if let Some(pem) = v.as_string() {
        return Ok(veil_seal::verifying_key_from_pem(&pem)?);
    }
    Ok(veil_seal::keys::verifying_key_from_sec1(&js::bytes(
        v, what,
    )?)?)
}

fn client_signer(options: &JsValue) -> Result<ClientSigner, VeilError> {
    match js::function_field(options, "sign")? {
        Some(sign) => {
            let public = js::field(options, "clientPublicKey")?;
            if js::is_absent(&public) {
                return Err(VeilError::argument(
                    "options.sign needs options.clientPublicKey",
                ));
            }
            Ok(ClientSigner::External(
                sign,
                public_key(&public, "clientPublicKey")?,
            ))
        }
        None => {
            let pem = js::text(&js::field(options, "clientKey")?, "clientKey")?;
            Ok(ClientSigner::Key(veil_seal::signing_key_from_pem(&pem)?))
        }
    }
}

/// `consentContext` `{event?, scope?, jurisdictions, ageBand}`: the ledger event (an object as the
/// ledger's JSON holds it, or that JSON as a string), the use as a scope label (default: the
/// event's scope, else the purpose), the subject's jurisdiction codes, and an age band (`16-17`,
/// `21+`) or age; sealed as `veil seal --consent-event-file --consent-scope --jurisdictions
/// --age-band` seals them.
fn consent_context(
    v: &JsValue,
    purpose: &str,
) -> Result<Option<veil_seal::ConsentContext>, VeilError> {
    if js::is_absent(v) {
        return Ok(None);
    }
    if !v.is_object() {
        return Err(VeilError::argument(
            "consentContext must be {event?, jurisdictions, ageBand}",
        ));
    }
    let event = js::field(v, "event")?;
    let event = if js::is_absent(&event) {
        None
    } else if let Some(text) = event.as_string() {
        Some(text.into_bytes())
    } else {
        let value: serde_json::Value = js::from_js(event, "consentContext.event")?;
        Some(value.to_string().into_bytes())
    };
    let jurisdictions: Vec<String> = js::from_js(
        js::field(v, "jurisdictions")?,
        "consentContext.jurisdictions",
    )?;
    let band = js::field(v, "ageBand")?;
    let band = match (band.as_string(), band.as_f64()) {
        (Some(text), _) => text,
        (None, Some(_)) => js::to_u64(&band, "consentContext.ageBand")?.to_string(),
        _ => {
            return Err(VeilError::argument(
                "consentContext.ageBand must be a band (\"16-17\", \"21+\") or an age",
            ));
        }
    };
    let scope = js::string_field(v, "scope")?;
    Ok(Some(veil_seal::ConsentContext::from_inputs(
        event.as_deref(),
        scope.as_deref(),
        purpose,
        &jurisdictions,
        &band,
    )?))
}

/// Where and how the artifact is sealed, and what to say about it.
struct Prepared {
    recipient: RecipientPublicKey,
    recipient_id: String,
    pseudonym: String,
    signer: ClientSigner,
    /// The neutral content names, in the order the files were given.
    contents: Vec<String>,
}

/// Everything `veil seal` puts into an artifact, checked, in a builder; and the sealing details.
/// With WebCrypto, the contents' SHA-256 come from `crypto.subtle.digest` (native code; software
/// SHA-256 in wasm is several times slower).
async fn prepare(
    files_in: &JsValue,
    options: &JsValue,
    subtle: Option<&Subtle>,
) -> Result<(ArtifactBuilder, Prepared), VeilError> {
    if !options.is_object() {
        return Err(VeilError::argument(
            "options {recipientKey, clientKey | sign + clientPublicKey, pseudonymSecret, purpose} are required",
        ));
    }
    let recipient = recipient_key(&js::field(options, "recipientKey")?)?;
    let signer = client_signer(options)?;
    let secret = secret(&js::field(options, "pseudonymSecret")?)?;
    let purpose = required_text(options, "purpose")?;
    let recipient_id =
        js::string_field(options, "recipientId")?.unwrap_or_else(|| recipient.kid().to_hex());
    let event_hash = match js::string_field(options, "consentEvent")? {
        None => None,
        Some(text) => {
            let mut h = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut h)
                .map_err(|_| VeilError::argument("consentEvent must be 64 hex digits"))?;
            Some(h)
        }
    };
    // Typed as veil-seal reads it (`permit` is the legacy `allow`); only `allow` is sealed, anything
    // else is refused by the seal itself with `consent-not-granted`.
    let decision = match js::string_field(options, "consentDecision")? {
        Some(text) => veil_seal::parse_consent_decision(&text).map_err(|_| {
            VeilError::argument(
                "consentDecision must be \"allow\", \"needs-consent\" or \"deny\" (only \"allow\" is sealed)",
            )
        })?,
        None => ConsentDecision::Allow,
    };
    let created_ms = match js::u64_field(options, "createdMs")? {
        Some(ms) => ms,
        None => js_sys::Date::now().max(0.0) as u64,
    };
    let files = files(files_in, subtle)?;
    if files.is_empty() {
        return Err(VeilError::argument("no files to seal"));
    }
    let context = consent_context(&js::field(options, "consentContext")?, &purpose)?;
    // Without consentEvent, the hash of the event sealed (a different one is refused by the seal:
    // `consent-event-mismatch`).
    let event_hash = match (event_hash, &context) {
        (None, Some(c)) => c.event_hash()?,
        (h, _) => h,
    };
    let pseudonym = secret.pseudonym(&recipient_id, &purpose);
    let consent = ConsentRef {
        decision,
        event_hash,
        context,
    };
    let mut builder = ArtifactBuilder::new(
        pseudonym.clone(),
        &purpose,
        &recipient_id,
        consent,
        created_ms,
    );
    let raw = js::field(options, "raw")?.as_bool().unwrap_or(false);
    let mut contents = Vec::with_capacity(files.len());
    // Names by role, in order, as `ArtifactBuilder::add_content_as` gives them.
    let mut namer = Namer::default();
    for InputFile {
        hint,
        bytes,
        sha256,
    } in files
    {
        let parsed = veil_mesh::write::model_kind(&bytes).map(|k| (k.extension, k.deidentified));
        let (role, raw_model) = Role::with_model_check(&hint, &bytes, parsed);
        if raw_model && !raw {
            return Err(VeilError::new(
                crate::error::RAW_MODEL,
                format!(
                    "files[{}] is a model that has not been through deidentifyModel (it is not \
                     the exact output of its writers); de-identify it first, or pass raw: true",
                    contents.len()
                ),
            ));
        }
        // The portal's name is a hint for the role only; the artifact names contents by role.
        let name = namer.name(&role);
        // A digest WebCrypto could not make is made in Rust by the builder.
        let digest = match sha256 {
            Some(started) => Subtle::sha256_of(started).await.ok(),
            None => None,
        };
        match digest {
            Some(h) => builder.add_file_with_sha256(&name, bytes, h)?,
            None => builder.add_file(&name, bytes)?,
        }
        contents.push(name);
    }
    for e in evidence(&js::field(options, "evidence")?)? {
        builder.add_device_evidence(e);
    }
    let report = js::field(options, "deidReport")?;
    if !js::is_absent(&report) {
        // Only the shareable form is ever sealed; a local report (with names and the transform)
        // is refused rather than converted, so a portal cannot send one by mistake.
        let value: serde_json::Value = js::from_js(report, "deidReport")?;
        if !is_shareable_report(&value) {
            return Err(VeilError::new(
                crate::error::BAD_REPORT,
                "deidReport must be the shareableReport of deidentifyModel (never its local report)",
            ));
        }
        builder.set_deid_report(value);
    }
    let prepared = Prepared {
        recipient,
        recipient_id,
        pseudonym: pseudonym.as_str().to_owned(),
        signer,
        contents,
    };
    Ok((builder, prepared))
}

/// Whether `v` has the shape of a [`veil_mesh::ShareableReport`]: an object marked
/// `form: "shareable"` with no key, at any depth, outside [`veil_mesh::ShareableReport::JSON_KEYS`]
/// and only channel ids of [`veil_mesh::scrub::CHANNELS`]
/// (a key check rather than a typed parse: the report types' deserializers would cost the module
/// 33 kB of its size budget).
fn is_shareable_report(v: &serde_json::Value) -> bool {
    fn keys_known(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(m) => m.iter().all(|(k, v)| {
                veil_mesh::ShareableReport::JSON_KEYS.contains(&k.as_str()) && keys_known(v)
            }),
            serde_json::Value::Array(a) => a.iter().all(keys_known),
            _ => true,
        }
    }
    let channels_known = v
        .get("metadata_removed")
        .and_then(|m| m.as_array())
        .is_some_and(|m| {
            m.iter().all(|c| {
                c.get("channel")
                    .and_then(|c| c.as_str())
                    .is_some_and(|c| veil_mesh::scrub::CHANNELS.contains(&c))
            })
        });
    v.get("form").and_then(|f| f.as_str()) == Some("shareable") && keys_known(v) && channels_known
}

/// Seal a signed artifact in Rust and describe it.
fn finish(signed: veil_seal::SignedArtifact, p: &Prepared) -> Result<JsValue, VeilError> {
    let envelope = veil_seal::seal(signed.into_bytes(), &p.recipient)?;
    describe(
        &js_sys::Uint8Array::from(envelope.as_bytes()),
        envelope.id().to_hex(),
        p,
    )
}

/// Seal a signed artifact with the AES-256-GCM step in WebCrypto (`veil_seal::external`: the HPKE
/// encapsulation and key schedule stay in Rust) and the artifact id by `crypto.subtle.digest`; the
/// same envelope [`finish`] makes from the same ephemeral key. If WebCrypto fails, [`finish`].
async fn finish_external(
    signed: veil_seal::SignedArtifact,
    p: &Prepared,
    subtle: &Subtle,
) -> Result<JsValue, VeilError> {
    let keys = veil_seal::begin_external_seal(&p.recipient)?;
    let plaintext = js::uint8(signed.as_bytes());
    let encrypted = subtle
        .aes_256_gcm_encrypt(&keys.key[..], &keys.nonce, &keys.kid.0, &plaintext)
        .await;
    let Ok(ciphertext) = encrypted else {
        return finish(signed, p);
    };
    drop((signed, plaintext));
    let prefix = veil_seal::envelope_prefix(&keys.enc, &keys.kid, ciphertext.length() as usize)?;
    let envelope = js_sys::Uint8Array::new_with_length(prefix.len() as u32 + ciphertext.length());
    envelope.set(&js_sys::Uint8Array::from(&prefix[..]), 0);
    envelope.set(&ciphertext, prefix.len() as u32);
    drop(ciphertext);
    let id = subtle.sha256(&envelope).await.map(hex::encode);
    let id = id.unwrap_or_else(|| veil_seal::ArtifactId::of_envelope(&envelope.to_vec()).to_hex());
    describe(&envelope, id, p)
}

/// The envelope and what `veil seal` says about it.
fn describe(
    envelope: &js_sys::Uint8Array,
    artifact_id: String,
    p: &Prepared,
) -> Result<JsValue, VeilError> {
    let out: JsValue = Object::new().into();
    js::set(&out, "envelope", envelope);
    js::set(&out, "artifactId", &artifact_id.into());
    js::set(&out, "kid", &p.recipient.kid().to_hex().into());
    js::set(&out, "recipient", &p.recipient_id.clone().into());
    js::set(&out, "pseudonym", &p.pseudonym.clone().into());
    js::set(&out, "contents", &js::to_js(&p.contents)?);
    js::set(&out, "bytes", &JsValue::from_f64(envelope.length().into()));
    Ok(out)
}

/// The external signer's answer: a 64-byte `r || s` (what WebCrypto's ECDSA returns), given as a
/// `Uint8Array` or `ArrayBuffer`, directly or through a promise.
async fn external_signature(
    sign: &js_sys::Function,
    to_be_signed: &js_sys::Uint8Array,
) -> Result<Vec<u8>, JsValue> {
    let answer = sign.call1(&JsValue::UNDEFINED, to_be_signed)?;
    let answer = match answer.dyn_into::<js_sys::Promise>() {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await?,
        Err(value) => value,
    };
    Ok(js::bytes(
        &answer,
        "the signature returned by options.sign",
    )?)
}

/// The `Sig_structure` the client key signs, in one JavaScript array (what an external signer
/// signs and WebCrypto hashes), copied once out of wasm memory.
fn sig_structure_js(unsigned: &UnsignedArtifact) -> js_sys::Uint8Array {
    let (head, payload) = unsigned.sig_structure_parts();
    let all = js_sys::Uint8Array::new_with_length((head.len() + payload.len()) as u32);
    all.subarray(0, head.len() as u32).copy_from(&head);
    all.subarray(head.len() as u32, all.length())
        .copy_from(payload);
    all
}

/// Sign (with the client key in wasm, or the portal's `sign`) the artifact the builder holds.
/// With WebCrypto, the `Sig_structure`'s SHA-256 (the size of the contents) is computed there, as
/// the contents' own digests are; without it, or if it fails, in Rust. The signature is the same
/// either way (RFC 6979).
async fn sign_artifact(
    builder: ArtifactBuilder,
    signer: &ClientSigner,
    subtle: Option<&Subtle>,
) -> Result<veil_seal::SignedArtifact, JsValue> {
    let public = match signer {
        ClientSigner::Key(key) => *key.verifying_key(),
        ClientSigner::External(_, public) => *public,
    };
    let unsigned = match subtle {
        Some(_) => builder.prepare_unhashed(&public),
        None => builder.prepare(&public),
    }
    .map_err(VeilError::from)?;
    let signed = match signer {
        ClientSigner::Key(key) => {
            let digest = match subtle {
                Some(subtle) => subtle.sha256(&sig_structure_js(&unsigned)).await,
                None => None,
            };
            match digest {
                Some(d) => unsigned.sign_prehashed(key, &d),
                None => unsigned.sign(key),
            }
        }
        ClientSigner::External(sign, _) => {
            let tbs = sig_structure_js(&unsigned);
            // Started before the portal's signer sees the array (digest copies it when called).
            let digest = subtle.map(|subtle| subtle.start_sha256(&tbs));
            let signature = external_signature(sign, &tbs).await?;
            drop(tbs);
            let digest = match digest {
                Some(Ok(started)) => Subtle::sha256_of(started).await.ok(),
                _ => None,
            };
            match digest {
                Some(d) => unsigned.finish_prehashed(&signature, &d),
                None => unsigned.finish(&signature),
            }
        }
    };
    Ok(signed.map_err(VeilError::from)?)
}

async fn seal_artifact_async(files_in: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let subtle = Subtle::get();
    let (builder, p) = prepare(&files_in, &options, subtle.as_ref()).await?;
    let signed = sign_artifact(builder, &p.signer, subtle.as_ref()).await?;
    Ok(match &subtle {
        Some(subtle) => finish_external(signed, &p, subtle).await?,
        None => finish(signed, &p)?,
    })
}

/// Sign files into an artifact with the client key and seal it (HPKE, RFC 9180) to the recipient:
/// what `veil seal` does, returning the `VEIL-1` envelope bytes and `{artifactId, kid, recipient,
/// pseudonym, bytes}`. Where the host has WebCrypto, the contents' SHA-256, the signature's
/// SHA-256 of the `Sig_structure`, the AES-256-GCM and the artifact id run there (the envelope is
/// the same as without it). The client key is PEM (`clientKey`), or stays outside the module: `sign`
/// signs the COSE `Sig_structure` (e.g. a non-extractable WebCrypto key) for `clientPublicKey`.
#[wasm_bindgen(js_name = sealArtifact, unchecked_return_type = "Promise<SealedArtifact>")]
pub fn seal_artifact(
    #[wasm_bindgen(js_name = files, unchecked_param_type = "Record<string, Uint8Array> | ArtifactFile[]")]
    files_in: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SealArtifactOptions")] options: JsValue,
) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(seal_artifact_async(files_in, options))
}

fn open_artifact_inner(
    envelope: &JsValue,
    key: &JsValue,
    options: &JsValue,
) -> Result<JsValue, VeilError> {
    let envelope = js::bytes(envelope, "envelope")?;
    let key = RecipientKey::from_pem(&js::text(key, "recipientPrivateKey")?)?;
    let pinned = match js::field(options, "clientKey")? {
        k if js::is_absent(&k) => None,
        k => Some(veil_seal::verifying_key_from_pem(&js::text(
            &k,
            "clientKey",
        )?)?),
    };
    let opened = veil_seal::open(&envelope, &key, pinned.as_ref())?;
    let mut manifest = opened.artifact.manifest.to_json();
    if let Some(obj) = manifest.as_object_mut() {
        obj.insert("artifact_id".into(), opened.id.to_hex().into());
    }
    let files: JsValue = Object::new().into();
    for (name, bytes) in &opened.artifact.files {
        js::set(&files, name, &js::uint8(bytes));
    }
    let out: JsValue = Object::new().into();
    js::set(&out, "artifactId", &opened.id.to_hex().into());
    js::set(&out, "manifest", &js::to_js(&manifest)?);
    js::set(&out, "files", &files);
    Ok(out)
}

/// Open a `VEIL-1` envelope with the recipient's private key: decrypt, verify the client signature
/// (pinned to `options.clientKey` if given) and every content hash, as `veil open` does. The
/// manifest is the JSON `veil open` prints.
#[wasm_bindgen(js_name = openArtifact, unchecked_return_type = "Promise<OpenedArtifact>")]
pub fn open_artifact(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] envelope: JsValue,
    #[wasm_bindgen(js_name = recipientPrivateKey, unchecked_param_type = "string")] key: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "OpenArtifactOptions")] options: JsValue,
) -> js_sys::Promise {
    js::settle(open_artifact_inner(&envelope, &key, &options))
}
