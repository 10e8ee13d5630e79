//! Neutral content names: what a content is called inside an artifact.
//!
//! The recipient reads content names in clear from the manifest, and people name files after
//! patients (`Jane_Roe_MRN448812_headCT.stl`). So a caller never chooses a content's name: it says
//! what the content is ([`Role`]) and the artifact names it by role and position: `model-1.stl`,
//! `reading-1.cose`, `file-1.pdf`. [`Role::of`] tells the role from a hint (the local file name,
//! used only for its extension and then dropped) and the first bytes.

/// What a content is, which decides its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A 3D model; the extension is `stl`, `obj` or `ply`.
    Model(&'static str),
    /// A device's signed reading (COSE_Sign1).
    Reading,
    /// Anything else, with a short alphanumeric extension if the hint had one.
    Other(Option<String>),
}

impl Role {
    /// The role of a content from its local name (only a known extension is looked at) and its
    /// bytes. A caller that can parse models should decide [`Role::Model`] by parsing and call
    /// [`crate::ArtifactBuilder::add_content_as`]; this looks at extensions and magic bytes only.
    pub fn of(hint: &str, bytes: &[u8]) -> Role {
        let ext = hint.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("stl") => return Role::Model("stl"),
            Some("obj") => return Role::Model("obj"),
            Some("ply") => return Role::Model("ply"),
            _ => {}
        }
        if bytes.starts_with(b"ply") {
            return Role::Model("ply");
        }
        let text = bytes.trim_ascii_start();
        if text.len() >= 5 && text[..5].eq_ignore_ascii_case(b"solid") || binary_stl_size(bytes) {
            return Role::Model("stl");
        }
        // CBOR tag 18 (COSE_Sign1) followed by a 4-element array; the `.cose` extension alone
        // proves nothing.
        if bytes.starts_with(&[0xd2, 0x84]) {
            return Role::Reading;
        }
        Role::Other(ext.filter(|e| OTHER_EXTENSIONS.contains(&e.as_str())))
    }

    /// The role of a content whose model check the caller made (`parsed`: the model's extension
    /// and whether it is a de-identification output, from a parser such as
    /// `veil_mesh::write::model_kind`), and whether it is a **raw model**: a model that is not a
    /// de-identification output, also when only its name says it is a model.
    pub fn with_model_check(
        hint: &str,
        bytes: &[u8],
        parsed: Option<(&'static str, bool)>,
    ) -> (Role, bool) {
        match parsed {
            Some((extension, deidentified)) => (Role::Model(extension), !deidentified),
            None => {
                let role = Role::of(hint, bytes);
                let raw = matches!(role, Role::Model(_));
                (role, raw)
            }
        }
    }
}

/// Extensions an [`Role::Other`] content keeps; any other part of a file name is dropped (`Jane.Roe`
/// must not become `file-1.roe`).
const OTHER_EXTENSIONS: &[&str] = &[
    "pdf", "json", "txt", "csv", "xml", "png", "jpg", "jpeg", "dcm", "zip", "cbor", "bin",
];

fn binary_stl_size(bytes: &[u8]) -> bool {
    let Some(count) = bytes.get(80..84) else {
        return false;
    };
    let n = u64::from(u32::from_le_bytes([count[0], count[1], count[2], count[3]]));
    n > 0 && n.checked_mul(50).and_then(|b| b.checked_add(84)) == Some(bytes.len() as u64)
}

/// Hands out `model-1.stl`, `model-2.ply`, `reading-1.cose`, `file-1.pdf`, ... in order.
#[derive(Debug, Clone, Default)]
pub struct Namer {
    counts: [u32; 3],
}

impl Namer {
    /// The next name for a content of `role`.
    pub fn name(&mut self, role: &Role) -> String {
        let slot = match role {
            Role::Model(_) => 0,
            Role::Reading => 1,
            Role::Other(_) => 2,
        };
        self.counts[slot] += 1;
        let n = self.counts[slot];
        match role {
            Role::Model(ext) => format!("model-{n}.{ext}"),
            Role::Reading => format!("reading-{n}.cose"),
            Role::Other(Some(ext)) => format!("file-{n}.{ext}"),
            Role::Other(None) => format!("file-{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_a_content_is_and_nothing_of_the_file_name() {
        let mut namer = Namer::default();
        let cases: [(&str, &[u8], &str); 10] = [
            ("Jane_Roe_MRN448812_headCT.STL", b"anything", "model-1.stl"),
            ("scan", b"ply\nformat ascii 1.0\n", "model-2.ply"),
            ("Roe skull", b"  solid Roe\n", "model-3.stl"),
            ("DOB-1970.cose", b"\xd2\x84", "reading-1.cose"),
            ("bp", b"\xd2\x84\x43", "reading-2.cose"),
            ("Jane Roe discharge letter.PDF", b"%PDF", "file-1.pdf"),
            ("Roe.notes-for-dr-smith", b"hello", "file-2"),
            ("Jane.Roe", b"hello", "file-3"),
            ("letter.44881", b"hello", "file-4"),
            ("skull.cose", b"not cose", "file-5"),
        ];
        for (hint, bytes, want) in cases {
            let name = namer.name(&Role::of(hint, bytes));
            assert_eq!(name, want, "{hint}");
            crate::manifest::validate_name(&name).unwrap();
        }
        let mut stl = vec![0u8; 84 + 50];
        stl[80] = 1;
        assert_eq!(Role::of("x", &stl), Role::Model("stl"));
    }
}
