//! The npm package's `Measurement` type (`crates/wasm/src/types.d.ts`) says what `verifyReading`
//! returns as `measurement`: the JSON of [`veil_trust::Measurement`]. This test keeps the two
//! together: every characteristic this crate decodes, with its optional fields absent and then
//! with every flag set, must serialize to a `type` the union declares, with no field the union
//! member leaves out. A kind or field added here without its declaration fails it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use veil_trust::measurement::{KNOWN_CHARACTERISTICS, decode};

/// The `export type Measurement = | {...} | {...};` union: each member's `type` and its
/// top-level field names.
fn declared_members() -> BTreeMap<String, Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../wasm/src/types.d.ts");
    let dts = std::fs::read_to_string(path).unwrap();
    let start = dts
        .find("export type Measurement =")
        .expect("types.d.ts declares Measurement");
    let rest = &dts[start..];
    let body = &rest[..rest.find(";\n").expect("the union ends")];
    let mut members = BTreeMap::new();
    // Split into top-level `{ ... }` members, then each into `;`-separated fields at depth 1.
    let (mut depth, mut field, mut fields) = (0usize, String::new(), Vec::new());
    for c in body.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth > 1 {
                    field.push(c);
                }
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    fields.push(std::mem::take(&mut field));
                    let names: Vec<(String, String)> = fields
                        .drain(..)
                        .filter_map(|f: String| {
                            let (name, ty) = f.split_once(':')?;
                            Some((
                                name.trim().trim_end_matches('?').to_owned(),
                                ty.trim().to_owned(),
                            ))
                        })
                        .collect();
                    let tag = names
                        .iter()
                        .find(|(n, _)| n == "type")
                        .map(|(_, t)| t.trim_matches('"').to_owned())
                        .expect("every member has a type");
                    members.insert(tag, names.into_iter().map(|(n, _)| n).collect());
                } else {
                    field.push(c);
                }
            }
            ';' if depth == 1 => fields.push(std::mem::take(&mut field)),
            _ if depth >= 1 => field.push(c),
            _ => {}
        }
    }
    members
}

#[test]
fn every_decoded_kind_and_field_is_declared_for_npm() {
    let members = declared_members();
    assert!(members.contains_key("blood_pressure"), "{members:?}");
    let mut seen = Vec::new();
    let unknown = (0xFFF0, 0xFFF1);
    for (svc, chr) in KNOWN_CHARACTERISTICS.into_iter().chain([unknown]) {
        // Flags octet first: none set, then all set (every optional field present). Zero octets
        // after it are valid everywhere: SFLOAT 0, an unknown Date Time, sequence number 0.
        for flags in [0x00u8, 0xFF] {
            let mut value = vec![flags];
            value.extend_from_slice(&[0; 40]);
            let m = decode(svc, chr, &value)
                .unwrap_or_else(|e| panic!("0x{chr:04X} flags {flags:02X}: {e}"));
            let json = serde_json::to_value(&m).unwrap();
            let tag = json["type"].as_str().unwrap().to_owned();
            let declared = members.get(&tag).unwrap_or_else(|| {
                panic!("types.d.ts has no Measurement member with type {tag:?} (0x{chr:04X})")
            });
            for key in json.as_object().unwrap().keys() {
                assert!(
                    declared.contains(key),
                    "types.d.ts: Measurement {tag:?} lacks field {key:?} (0x{chr:04X}, flags {flags:02X})"
                );
            }
            seen.push(tag);
        }
    }
    // And nothing declared that the crate never returns.
    for tag in members.keys() {
        assert!(
            seen.contains(tag),
            "types.d.ts declares Measurement {tag:?}, which no characteristic decodes to"
        );
    }
}
