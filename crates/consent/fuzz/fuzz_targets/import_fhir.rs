//! Arbitrary bytes as a FHIR Bundle from another system: import must return a ledger or an error,
//! never panic; whatever it accepts must export and re-import to the same ledger.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ledger) = veil_consent::import_bundle(data) {
        let bundle = veil_consent::export_bundle(&ledger, None);
        let again = veil_consent::import_bundle(bundle.to_string().as_bytes());
        assert_eq!(again.ok().as_ref(), Some(&ledger));
    }
});
