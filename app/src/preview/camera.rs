//! The orbit camera both preview views share: yaw and pitch around the model's centre, and a
//! zoom factor on the distance that frames the whole model. Matrices are column-major, as WebGL
//! expects them.

/// Where the camera looks from. Angles in radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    /// Rotation around the vertical axis.
    pub yaw: f32,
    /// Elevation, kept inside (−89°, 89°) so the view never flips.
    pub pitch: f32,
    /// Distance multiplier: 1 frames the model, smaller is closer.
    pub zoom: f32,
}

impl Default for OrbitCamera {
    fn default() -> Self {
        OrbitCamera {
            yaw: 0.6,
            pitch: 0.35,
            zoom: 1.0,
        }
    }
}

const PITCH_LIMIT: f32 = 89.0 * std::f32::consts::PI / 180.0;

/// A column-major 4×4 matrix.
pub type Mat4 = [f32; 16];

impl OrbitCamera {
    /// Turn by `dyaw`, `dpitch` radians.
    pub fn rotate(&mut self, dyaw: f32, dpitch: f32) {
        if dyaw.is_finite() && dpitch.is_finite() {
            self.yaw = (self.yaw + dyaw).rem_euclid(std::f32::consts::TAU);
            self.pitch = (self.pitch + dpitch).clamp(-PITCH_LIMIT, PITCH_LIMIT);
        }
    }

    /// Multiply the distance by `factor` (less than 1 moves closer), within 0.05×–20×.
    pub fn zoom_by(&mut self, factor: f32) {
        if factor.is_finite() && factor > 0.0 {
            self.zoom = (self.zoom * factor).clamp(0.05, 20.0);
        }
    }

    /// The eye position for a model around `centre` of bounding radius `radius`.
    pub fn eye(&self, centre: [f32; 3], radius: f32) -> [f32; 3] {
        // Far enough that a sphere of `radius` fills the 45° field of view.
        let distance = radius / (FOV_Y / 2.0).sin() * self.zoom;
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        [
            centre[0] + distance * cp * sy,
            centre[1] + distance * sp,
            centre[2] + distance * cp * cy,
        ]
    }

    /// The view matrix and the projection·view matrix for a viewport of `aspect` = width/height.
    pub fn matrices(&self, centre: [f32; 3], radius: f32, aspect: f32) -> (Mat4, Mat4) {
        let eye = self.eye(centre, radius);
        let view = look_at(eye, centre, [0.0, 1.0, 0.0]);
        let distance = norm(sub(eye, centre));
        let near = (distance - radius * 1.5).max(distance * 0.01).max(1e-4);
        let far = distance + radius * 1.5;
        let proj = perspective(FOV_Y, if aspect > 0.0 { aspect } else { 1.0 }, near, far);
        (view, mul(&proj, &view))
    }
}

/// Vertical field of view (45°).
pub const FOV_Y: f32 = std::f32::consts::FRAC_PI_4;

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn norm(a: [f32; 3]) -> f32 {
    dot(a, a).sqrt()
}
fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = norm(a);
    if n > 0.0 {
        [a[0] / n, a[1] / n, a[2] / n]
    } else {
        a
    }
}

/// A right-handed view matrix looking from `eye` at `target`.
pub fn look_at(eye: [f32; 3], target: [f32; 3], up: [f32; 3]) -> Mat4 {
    let f = normalize(sub(target, eye));
    let s = normalize(cross(f, up));
    let u = cross(s, f);
    [
        s[0],
        u[0],
        -f[0],
        0.0, //
        s[1],
        u[1],
        -f[1],
        0.0, //
        s[2],
        u[2],
        -f[2],
        0.0, //
        -dot(s, eye),
        -dot(u, eye),
        dot(f, eye),
        1.0,
    ]
}

/// An OpenGL perspective projection (clip z in −1..1).
pub fn perspective(fov_y: f32, aspect: f32, near: f32, far: f32) -> Mat4 {
    let f = 1.0 / (fov_y / 2.0).tan();
    let nf = 1.0 / (near - far);
    [
        f / aspect,
        0.0,
        0.0,
        0.0, //
        0.0,
        f,
        0.0,
        0.0, //
        0.0,
        0.0,
        (far + near) * nf,
        -1.0, //
        0.0,
        0.0,
        2.0 * far * near * nf,
        0.0,
    ]
}

/// `a · b` for column-major matrices.
pub fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut out = [0.0; 16];
    for c in 0..4 {
        for r in 0..4 {
            out[c * 4 + r] = (0..4).map(|k| a[k * 4 + r] * b[c * 4 + k]).sum();
        }
    }
    out
}

/// Transform a point (w = 1) and divide by w.
pub fn project(m: &Mat4, p: [f32; 3]) -> [f32; 3] {
    let v = [p[0], p[1], p[2], 1.0];
    let o: Vec<f32> = (0..4)
        .map(|r| (0..4).map(|k| m[k * 4 + r] * v[k]).sum())
        .collect();
    [o[0] / o[3], o[1] / o[3], o[2] / o[3]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_centre_projects_to_the_middle_of_the_screen_in_front_of_the_camera() {
        let cam = OrbitCamera::default();
        let (_, vp) = cam.matrices([10.0, -4.0, 2.0], 5.0, 1.5);
        let c = project(&vp, [10.0, -4.0, 2.0]);
        assert!(c[0].abs() < 1e-5 && c[1].abs() < 1e-5, "{c:?}");
        assert!(c[2] > -1.0 && c[2] < 1.0, "inside the depth range: {c:?}");
    }

    #[wasm_bindgen_test]
    fn the_whole_bounding_sphere_is_visible_at_zoom_one() {
        let cam = OrbitCamera {
            yaw: 1.0,
            pitch: -0.4,
            zoom: 1.0,
        };
        let (_, vp) = cam.matrices([0.0; 3], 2.0, 1.0);
        for p in [
            [2.0, 0.0, 0.0],
            [0.0, 2.0, 0.0],
            [0.0, 0.0, -2.0],
            [-1.2, 1.2, 1.2],
        ] {
            let q = project(&vp, p);
            assert!(q.iter().all(|v| v.abs() <= 1.0), "{p:?} -> {q:?}");
        }
    }

    #[wasm_bindgen_test]
    fn pitch_is_clamped_and_zoom_bounded() {
        let mut cam = OrbitCamera::default();
        cam.rotate(0.0, 10.0);
        assert!(cam.pitch <= PITCH_LIMIT);
        cam.zoom_by(1e-9);
        assert_eq!(cam.zoom, 0.05);
        cam.zoom_by(f32::NAN);
        assert_eq!(cam.zoom, 0.05);
        cam.rotate(f32::INFINITY, 0.0);
        assert!(cam.yaw.is_finite());
    }
}
