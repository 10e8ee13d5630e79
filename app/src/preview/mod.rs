//! The before/after 3D preview of the Models page.
//!
//! [`geometry`] is plain Rust and runs in the mesh worker: it places the input in the output's
//! frame, highlights what the deface step removed, and colours the output by its distance to the
//! input (measured with `veil-mesh`'s own surface grid, the one the report's Hausdorff uses). [`viewer`] draws the result with WebGL2 on the page; [`camera`] is the
//! orbit camera both views share.

pub mod camera;
pub mod geometry;
pub mod viewer;

/// What the camera frames: the centre and bounding radius of the model, in the output frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// The point the camera orbits.
    pub centre: [f32; 3],
    /// Radius of a sphere around `centre` holding the model.
    pub radius: f32,
}

impl Default for Frame {
    fn default() -> Self {
        Frame {
            centre: [0.0; 3],
            radius: 1.0,
        }
    }
}

/// One view's buffers as the worker sent them (typed arrays, uploaded to WebGL as they are).
#[derive(Debug, Clone)]
pub struct ViewGeometry {
    /// `xyz` per vertex.
    pub positions: js_sys::Float32Array,
    /// `rgb` per vertex.
    pub colours: js_sys::Uint8Array,
    /// Three vertex indices per triangle.
    pub indices: js_sys::Uint32Array,
    /// Triangles of the model before thinning for display.
    pub total_triangles: f64,
}
