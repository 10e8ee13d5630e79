//! Step 1, metadata scrub: the inventory of every non-geometry channel a file carried.
//!
//! The readers record each channel they meet (STL header keys, solid names, facet attribute bytes,
//! OBJ comments and names, PLY comments and extra properties) as a [`MetadataChannel`]: a stable
//! channel id, how many items and how many bytes, never the values. The writers emit geometry only
//! with a fixed neutral header, so dropping is structural: nothing read here can reach the output.

use serde::{Deserialize, Serialize};

/// One kind of metadata found in the input and removed from the output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataChannel {
    /// Stable id, e.g. `stl-header-text`, `stl-facet-colour-viscam`, `obj-comment`, `ply-comment`.
    pub channel: String,
    /// Which element/property for per-property channels (e.g. `vertex.red`); a name, never a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How many occurrences (lines, facets, records).
    pub count: u64,
    /// How many bytes they occupied in the input.
    pub bytes: u64,
}

/// Every channel id the readers can record: the only values `channel` takes, in the local and the
/// shareable report. A shareable report naming another channel is refused when read.
pub const CHANNELS: &[&str] = &[
    "stl-header-text",
    "stl-header-materialise-color",
    "stl-header-materialise-material",
    "stl-header-space",
    "stl-facet-attribute",
    "stl-facet-colour-viscam",
    "stl-facet-colour-materialise",
    "stl-ascii-solid-name",
    "stl-ascii-endsolid-name",
    "obj-comment",
    "obj-object-name",
    "obj-group-name",
    "obj-mtllib",
    "obj-usemtl",
    "obj-normals",
    "obj-texture-coordinates",
    "obj-smoothing-group",
    "obj-lines-points",
    "obj-vertex-colour",
    "obj-other-statement",
    "ply-comment",
    "ply-obj-info",
    "ply-extra-property",
    "ply-extra-element",
    "ply-trailing-data",
    "unreferenced-vertices",
];

/// Collects channels, merging repeated occurrences of the same channel.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    pub(crate) channels: Vec<MetadataChannel>,
}

impl Inventory {
    pub(crate) fn add(
        &mut self,
        channel: &'static str,
        detail: Option<&str>,
        count: u64,
        bytes: u64,
    ) {
        debug_assert!(CHANNELS.contains(&channel), "{channel} is not in CHANNELS");
        if count == 0 && bytes == 0 {
            return;
        }
        if let Some(c) = self
            .channels
            .iter_mut()
            .find(|c| c.channel == channel && c.detail.as_deref() == detail)
        {
            c.count = c.count.saturating_add(count);
            c.bytes = c.bytes.saturating_add(bytes);
            return;
        }
        self.channels.push(MetadataChannel {
            channel: channel.to_string(),
            detail: detail.map(str::to_string),
            count,
            bytes,
        });
    }
}

/// The fixed header every binary STL written by Veil carries (80 bytes, zero padded).
/// Deliberately not starting with `solid`, so no reader mistakes it for ASCII.
pub const NEUTRAL_STL_HEADER: &[u8] = b"Veil de-identified mesh";

/// The one comment every PLY written by Veil carries (its neutral mark; no other text).
pub const NEUTRAL_PLY_COMMENT: &str = "Veil de-identified mesh";

/// Classify an 80-byte binary STL header into channels (Materialise `COLOR=`/`MATERIAL=`,
/// 3D Slicer `SPACE=`, other free text). Returns whether a Materialise `COLOR=` key was present,
/// which decides how facet attribute bytes are read.
pub(crate) fn scan_stl_header(header: &[u8], inv: &mut Inventory) -> bool {
    let used = header
        .iter()
        .rposition(|&b| b != 0 && b != b' ')
        .map_or(0, |p| p + 1);
    let text = &header[..used];
    if text.is_empty() || text == NEUTRAL_STL_HEADER {
        return false;
    }
    let mut accounted = 0u64;
    let mut has_color = false;
    // Materialise Magics: "COLOR=" + 4 bytes RGBA, "MATERIAL=" + 12 bytes (diffuse, specular, ambient).
    if let Some(p) = find(text, b"COLOR=") {
        let n = (6 + 4).min(text.len() - p) as u64;
        inv.add("stl-header-materialise-color", None, 1, n);
        accounted += n;
        has_color = true;
    }
    if let Some(p) = find(text, b"MATERIAL=") {
        let n = (9 + 12).min(text.len() - p) as u64;
        inv.add("stl-header-materialise-material", None, 1, n);
        accounted += n;
    }
    // 3D Slicer writes "SPACE=RAS" / "SPACE=LPS": the patient coordinate system of the export.
    if let Some(p) = find(text, b"SPACE=") {
        let end = text[p..]
            .iter()
            .position(|&b| b == b' ' || b == 0 || b == b';' || b == b',')
            .map_or(text.len(), |e| p + e);
        let n = (end - p) as u64;
        inv.add("stl-header-space", None, 1, n);
        accounted += n;
    }
    let rest = (used as u64).saturating_sub(accounted);
    if rest > 0 {
        inv.add("stl-header-text", None, 1, rest);
    }
    has_color
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
