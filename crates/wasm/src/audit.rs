//! `verifyAuditLog`: check an exported audit log (JSON lines, `veil-audit`) against the key that
//! signed it, so a portal or an auditor can prove no entry was changed, removed or reordered.

use js_sys::Object;
use veil_audit::AuditLog;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::VeilError;
use crate::js;

/// The log's verifying key: PEM `PUBLIC KEY` text, or a SEC1 point (33 or 65 bytes).
fn key(v: &JsValue) -> Result<veil_seal::VerifyingKey, VeilError> {
    if let Some(pem) = v.as_string() {
        return Ok(veil_seal::verifying_key_from_pem(&pem)?);
    }
    Ok(veil_seal::keys::verifying_key_from_sec1(&js::bytes(
        v,
        "publicKey",
    )?)?)
}

/// Verify every link of an audit log: sequence numbers, hash chain and ECDSA signatures, and, with
/// `options.expectedHead`, that nothing was cut off the end. Returns `{entries, head}` (head in
/// hex); a break throws a `VeilError` with the fault's code (`seq-mismatch`, `prev-mismatch`,
/// `hash-mismatch`, `bad-signature`, `head-mismatch`) and `index`, the first entry that fails.
#[wasm_bindgen(js_name = verifyAuditLog, unchecked_return_type = "AuditLogReport")]
pub fn verify_audit_log(
    #[wasm_bindgen(js_name = jsonLines, unchecked_param_type = "string | Uint8Array")]
    json_lines: JsValue,
    #[wasm_bindgen(js_name = publicKey, unchecked_param_type = "string | Uint8Array")]
    public_key: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "VerifyAuditLogOptions")] options: JsValue,
) -> Result<JsValue, VeilError> {
    let text = js::text(&json_lines, "jsonLines")?;
    let key = key(&public_key)?;
    let log = AuditLog::from_json_lines(&text, key)?;
    let head = match js::string_field(&options, "expectedHead")? {
        Some(expected) => {
            let mut h = [0u8; 32];
            hex::decode_to_slice(expected.trim(), &mut h)
                .map_err(|_| VeilError::argument("expectedHead must be 64 hex digits"))?;
            log.verify_head(&h)?;
            h
        }
        None => log.verify()?,
    };
    let out: JsValue = Object::new().into();
    js::set(&out, "entries", &JsValue::from_f64(log.len() as f64));
    js::set(&out, "head", &hex::encode(head).into());
    Ok(out)
}
