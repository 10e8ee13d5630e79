//! The WebGL2 view of one mesh: flat-shaded triangles with per-vertex colours, an orbit camera
//! turned by dragging, zoomed by the wheel, and driven from the keyboard (arrows turn, `+`/`-`
//! zoom, `0` resets) when the canvas has focus.
//!
//! Nothing is animated: a frame is drawn when the geometry, the camera or the canvas size changes,
//! so an idle preview costs nothing.
//!
//! Edges are smoothed by multisampling (`antialias`) unless WebGL is drawn in software
//! (SwiftShader, llvmpipe, WARP: kiosks and virtual machines without a GPU). There multisampling
//! costs more than the triangles themselves: the two views of a 5M-triangle model took 440 and
//! 410 ms to draw in Chromium's SwiftShader, about half of that without it, and every drag
//! redraws both (measurements in docs/benchmarks.md). There the page also asks the worker for a
//! lighter preview ([`preview_triangles`]).

use js_sys::Reflect;
use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{WebGl2RenderingContext as Gl, WebGlProgram, WebGlShader, WebGlUniformLocation};

use crate::components::ErrorText;
use crate::error::AppError;
use crate::mesh_job;
use crate::preview::camera::OrbitCamera;
use crate::preview::{Frame, ViewGeometry};

const VERTEX_SHADER: &str = r#"#version 300 es
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_colour;
uniform mat4 u_view;
uniform mat4 u_view_projection;
out vec3 v_colour;
out vec3 v_eye;
void main() {
    v_colour = a_colour;
    v_eye = (u_view * vec4(a_position, 1.0)).xyz;
    gl_Position = u_view_projection * vec4(a_position, 1.0);
}
"#;

// Flat shading from screen-space derivatives: no normals to compute or send, and facets show,
// which is what a reviewer of a mesh wants to see. A headlight: brightness follows |n·view|.
const FRAGMENT_SHADER: &str = r#"#version 300 es
precision highp float;
in vec3 v_colour;
in vec3 v_eye;
out vec4 out_colour;
void main() {
    vec3 n = normalize(cross(dFdx(v_eye), dFdy(v_eye)));
    float light = 0.35 + 0.65 * abs(n.z);
    out_colour = vec4(v_colour * light, 1.0);
}
"#;

/// Whether a WebGL renderer named `renderer` (`WEBGL_debug_renderer_info`'s unmasked name, or
/// `RENDERER`) draws in software.
pub fn is_software_renderer(renderer: &str) -> bool {
    let name = renderer.to_ascii_lowercase();
    [
        "swiftshader",
        "llvmpipe",
        "softpipe",
        "software",
        "basic render driver",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// Whether this browser draws WebGL in software, asked of a throwaway context until one answers
/// (a browser that cannot make one now counts as a GPU until it can).
fn drawn_in_software() -> bool {
    thread_local!(static SOFTWARE: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) });
    SOFTWARE.with(|s| {
        if let Some(known) = s.get() {
            return known;
        }
        let Some(name) = renderer_name() else {
            return false;
        };
        let software = is_software_renderer(&name);
        s.set(Some(software));
        software
    })
}

/// Triangles per preview view this browser draws without stalling: fewer where WebGL is drawn
/// in software (see [`mesh_job::SOFTWARE_PREVIEW_TRIANGLES`]).
pub fn preview_triangles() -> usize {
    if drawn_in_software() {
        mesh_job::SOFTWARE_PREVIEW_TRIANGLES
    } else {
        mesh_job::PREVIEW_TRIANGLE_BUDGET
    }
}

fn renderer_name() -> Option<String> {
    /// `WEBGL_debug_renderer_info.UNMASKED_RENDERER_WEBGL`.
    const UNMASKED_RENDERER: u32 = 0x9246;
    let canvas: web_sys::HtmlCanvasElement = web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into()
        .ok()?;
    let gl: Gl = canvas.get_context("webgl2").ok()??.dyn_into().ok()?;
    let unmasked = match gl.get_extension("WEBGL_debug_renderer_info") {
        Ok(Some(_)) => gl.get_parameter(UNMASKED_RENDERER).ok(),
        _ => None,
    };
    let name = unmasked
        .or_else(|| gl.get_parameter(Gl::RENDERER).ok())
        .and_then(|v| v.as_string());
    lose_context(&gl);
    name
}

/// Give a context back now rather than at garbage collection (browsers cap live contexts).
fn lose_context(gl: &Gl) {
    if let Ok(Some(ext)) = gl.get_extension("WEBGL_lose_context")
        && let Ok(lose) =
            Reflect::get(&ext, &"loseContext".into()).and_then(|f| f.dyn_into::<js_sys::Function>())
    {
        let _ = lose.call0(&ext);
    }
}

/// The GPU side of one view.
struct GlView {
    gl: Gl,
    program: WebGlProgram,
    u_view: Option<WebGlUniformLocation>,
    u_view_projection: Option<WebGlUniformLocation>,
    vao: Option<web_sys::WebGlVertexArrayObject>,
    buffers: Vec<web_sys::WebGlBuffer>,
    index_count: i32,
    /// Whether edges are multisampled.
    antialias: bool,
}

fn compile(gl: &Gl, kind: u32, source: &str) -> Result<WebGlShader, AppError> {
    let shader = gl
        .create_shader(kind)
        .ok_or_else(|| AppError::browser("cannot create a shader"))?;
    gl.shader_source(&shader, source);
    gl.compile_shader(&shader);
    if gl
        .get_shader_parameter(&shader, Gl::COMPILE_STATUS)
        .as_bool()
        .unwrap_or(false)
    {
        Ok(shader)
    } else {
        Err(AppError::browser(
            gl.get_shader_info_log(&shader).unwrap_or_default(),
        ))
    }
}

impl GlView {
    fn new(canvas: &web_sys::HtmlCanvasElement) -> Result<GlView, AppError> {
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(
            &options,
            &"antialias".into(),
            &(!drawn_in_software()).into(),
        );
        let gl: Gl = canvas
            .get_context_with_context_options("webgl2", &options)
            .map_err(|_| AppError::browser("WebGL2 is refused"))?
            .ok_or_else(|| AppError::browser("WebGL2 is unavailable"))?
            .dyn_into()
            .map_err(|_| AppError::browser("not a WebGL2 context"))?;
        // What the context gave, which is what the canvas reports (a browser may refuse to multisample).
        let antialias = gl
            .get_context_attributes()
            .and_then(|a| a.get_antialias())
            .unwrap_or(false);
        let vs = compile(&gl, Gl::VERTEX_SHADER, VERTEX_SHADER)?;
        let fs = compile(&gl, Gl::FRAGMENT_SHADER, FRAGMENT_SHADER)?;
        let program = gl
            .create_program()
            .ok_or_else(|| AppError::browser("cannot create a program"))?;
        gl.attach_shader(&program, &vs);
        gl.attach_shader(&program, &fs);
        gl.link_program(&program);
        if !gl
            .get_program_parameter(&program, Gl::LINK_STATUS)
            .as_bool()
            .unwrap_or(false)
        {
            return Err(AppError::browser(
                gl.get_program_info_log(&program).unwrap_or_default(),
            ));
        }
        let u_view = gl.get_uniform_location(&program, "u_view");
        let u_view_projection = gl.get_uniform_location(&program, "u_view_projection");
        gl.enable(Gl::DEPTH_TEST);
        Ok(GlView {
            gl,
            program,
            u_view,
            u_view_projection,
            vao: None,
            buffers: Vec::new(),
            index_count: 0,
            antialias,
        })
    }

    fn upload(&mut self, geometry: Option<&ViewGeometry>) {
        let gl = &self.gl;
        for b in self.buffers.drain(..) {
            gl.delete_buffer(Some(&b));
        }
        if let Some(vao) = self.vao.take() {
            gl.delete_vertex_array(Some(&vao));
        }
        self.index_count = 0;
        let Some(geometry) = geometry else { return };
        let vao = gl.create_vertex_array();
        gl.bind_vertex_array(vao.as_ref());
        let attribute =
            |location: u32, data: &js_sys::Object, size: i32, kind: u32, normalised: bool| {
                let buffer = gl.create_buffer();
                gl.bind_buffer(Gl::ARRAY_BUFFER, buffer.as_ref());
                gl.buffer_data_with_array_buffer_view(Gl::ARRAY_BUFFER, data, Gl::STATIC_DRAW);
                gl.enable_vertex_attrib_array(location);
                gl.vertex_attrib_pointer_with_i32(location, size, kind, normalised, 0, 0);
                buffer
            };
        let positions = attribute(0, &geometry.positions, 3, Gl::FLOAT, false);
        let colours = attribute(1, &geometry.colours, 3, Gl::UNSIGNED_BYTE, true);
        let indices = gl.create_buffer();
        gl.bind_buffer(Gl::ELEMENT_ARRAY_BUFFER, indices.as_ref());
        gl.buffer_data_with_array_buffer_view(
            Gl::ELEMENT_ARRAY_BUFFER,
            &geometry.indices,
            Gl::STATIC_DRAW,
        );
        gl.bind_vertex_array(None);
        self.buffers
            .extend([positions, colours, indices].into_iter().flatten());
        self.vao = vao;
        self.index_count = i32::try_from(geometry.indices.length()).unwrap_or(i32::MAX);
    }

    fn release(self) {
        self.gl.delete_program(Some(&self.program));
        for b in &self.buffers {
            self.gl.delete_buffer(Some(b));
        }
        lose_context(&self.gl);
    }

    fn draw(&self, canvas: &web_sys::HtmlCanvasElement, camera: &OrbitCamera, frame: &Frame) {
        let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        let width = ((f64::from(canvas.client_width()) * ratio).round() as u32).max(1);
        let height = ((f64::from(canvas.client_height()) * ratio).round() as u32).max(1);
        if canvas.width() != width || canvas.height() != height {
            canvas.set_width(width);
            canvas.set_height(height);
        }
        let gl = &self.gl;
        gl.viewport(0, 0, width as i32, height as i32);
        gl.clear_color(0.96, 0.97, 0.98, 1.0);
        gl.clear(Gl::COLOR_BUFFER_BIT | Gl::DEPTH_BUFFER_BIT);
        if self.index_count == 0 {
            return;
        }
        let (view, view_projection) =
            camera.matrices(frame.centre, frame.radius, width as f32 / height as f32);
        gl.use_program(Some(&self.program));
        gl.uniform_matrix4fv_with_f32_array(self.u_view.as_ref(), false, &view);
        gl.uniform_matrix4fv_with_f32_array(
            self.u_view_projection.as_ref(),
            false,
            &view_projection,
        );
        gl.bind_vertex_array(self.vao.as_ref());
        gl.draw_elements_with_i32(Gl::TRIANGLES, self.index_count, Gl::UNSIGNED_INT, 0);
        gl.bind_vertex_array(None);
    }
}

/// Radians turned per pixel dragged, and per arrow key press.
const DRAG_RADIANS_PER_PIXEL: f32 = 0.01;
const KEY_RADIANS: f32 = 15.0 * std::f32::consts::PI / 180.0;

/// One 3D view. Views given the same `camera` turn and zoom together.
#[component]
pub fn ModelViewer(
    /// Accessible name of the view (what it shows).
    label: &'static str,
    /// `data-testid` of the canvas.
    testid: &'static str,
    /// The mesh to draw; `None` draws an empty view.
    geometry: Signal<Option<ViewGeometry>, LocalStorage>,
    /// What the camera frames.
    frame: Signal<Frame>,
    /// The shared camera.
    camera: RwSignal<OrbitCamera>,
) -> impl IntoView {
    let canvas_ref = NodeRef::<Canvas>::new();
    let view: StoredValue<Option<GlView>, LocalStorage> = StoredValue::new_local(None);
    let failure = RwSignal::new(None::<AppError>);
    let draws = RwSignal::new(0u32);
    let antialias = RwSignal::new(None::<bool>);
    let drag = StoredValue::new(None::<(f64, f64)>);

    let redraw = move || {
        let Some(canvas) = canvas_ref.get_untracked() else {
            return;
        };
        view.with_value(|v| {
            if let Some(v) = v {
                v.draw(&canvas, &camera.get_untracked(), &frame.get_untracked());
            }
        });
        draws.update(|n| *n = n.wrapping_add(1));
    };

    // Upload when the geometry changes (creating the context on first use), then draw.
    Effect::new(move |_| {
        let geometry = geometry.get();
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        let ready = view.try_update_value(|v| {
            if v.is_none() {
                match GlView::new(&canvas) {
                    Ok(gl) => {
                        antialias.set(Some(gl.antialias));
                        *v = Some(gl);
                    }
                    Err(e) => {
                        failure.set(Some(e));
                        return false;
                    }
                }
            }
            if let Some(v) = v {
                v.upload(geometry.as_ref());
            }
            true
        });
        if ready == Some(true) {
            redraw();
        }
    });
    // Redraw when the camera or the frame moves.
    Effect::new(move |_| {
        camera.track();
        frame.track();
        redraw();
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| redraw());
    on_cleanup(move || {
        resize.remove();
        // Browsers cap live WebGL contexts: give this one back now rather than at garbage collection.
        if let Some(Some(v)) = view.try_update_value(Option::take) {
            v.release();
        }
    });

    // `clientX` is a double in the current spec (web-sys's unstable API set) and a long in the
    // stable one: read it as f64 either way.
    #[allow(clippy::useless_conversion)]
    let client = |e: &web_sys::PointerEvent| (f64::from(e.client_x()), f64::from(e.client_y()));
    let on_pointer_down = move |e: web_sys::PointerEvent| {
        if let Some(canvas) = canvas_ref.get_untracked() {
            let _ = canvas.set_pointer_capture(e.pointer_id());
        }
        drag.set_value(Some(client(&e)));
    };
    let on_pointer_move = move |e: web_sys::PointerEvent| {
        if let Some((x, y)) = drag.get_value() {
            let (cx, cy) = client(&e);
            let (dx, dy) = (cx - x, cy - y);
            drag.set_value(Some((cx, cy)));
            camera.update(|c| {
                c.rotate(
                    -(dx as f32) * DRAG_RADIANS_PER_PIXEL,
                    dy as f32 * DRAG_RADIANS_PER_PIXEL,
                )
            });
        }
    };
    let on_pointer_up = move |_: web_sys::PointerEvent| drag.set_value(None);
    let on_wheel = move |e: web_sys::WheelEvent| {
        e.prevent_default();
        let factor = (e.delta_y() * 0.0015).exp() as f32;
        camera.update(|c| c.zoom_by(factor));
    };
    let on_key = move |e: web_sys::KeyboardEvent| {
        match e.key().as_str() {
            "ArrowLeft" => camera.update(|c| c.rotate(KEY_RADIANS, 0.0)),
            "ArrowRight" => camera.update(|c| c.rotate(-KEY_RADIANS, 0.0)),
            "ArrowUp" => camera.update(|c| c.rotate(0.0, -KEY_RADIANS)),
            "ArrowDown" => camera.update(|c| c.rotate(0.0, KEY_RADIANS)),
            "+" | "=" => camera.update(|c| c.zoom_by(1.0 / 1.25)),
            "-" | "_" => camera.update(|c| c.zoom_by(1.25)),
            "0" | "Home" => camera.set(OrbitCamera::default()),
            _ => return,
        }
        e.prevent_default();
    };

    let shown = move || {
        geometry.with(|g| {
            g.as_ref()
                .map(|g| (g.indices.length() / 3).to_string())
                .unwrap_or_default()
        })
    };
    view! {
        <figure class="viewer">
            <canvas node_ref=canvas_ref tabindex="0" role="img" aria-label=label
                aria-describedby="viewer-help" data-testid=testid
                data-yaw=move || format!("{:.3}", camera.get().yaw)
                data-pitch=move || format!("{:.3}", camera.get().pitch)
                data-zoom=move || format!("{:.3}", camera.get().zoom)
                data-shown-triangles=shown
                data-draws=move || draws.get().to_string()
                data-antialias=move || antialias.get().map(|a| a.to_string())
                on:pointerdown=on_pointer_down on:pointermove=on_pointer_move
                on:pointerup=on_pointer_up on:pointercancel=on_pointer_up
                on:wheel=on_wheel on:keydown=on_key>
            </canvas>
            <figcaption>{label}</figcaption>
            <Show when=move || failure.with(Option::is_some)>
                <p class="note" role="status" data-testid=format!("{testid}-unavailable")
                    data-code=move || failure.with(|f| f.as_ref().map(|e| e.code))>
                    "The 3D preview needs WebGL2, which this browser does not offer: "
                    {move || failure.get().map(|error| view! { <ErrorText error/> })}
                </p>
            </Show>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::is_software_renderer;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn software_renderers_are_told_from_gpus_by_the_names_browsers_report() {
        for software in [
            // Chromium without a GPU (headless, virtual machines).
            "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
            "Google SwiftShader",
            // Mesa's software rasterisers (Firefox and Chromium on Linux without a GPU driver).
            "llvmpipe (LLVM 15.0.6, 256 bits)",
            "softpipe",
            // Windows' WARP.
            "ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)",
            "Microsoft Basic Render Driver",
        ] {
            assert!(is_software_renderer(software), "{software}");
        }
        for gpu in [
            "ANGLE (Intel, Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0, D3D11)",
            "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 (0x00002504) Direct3D11 vs_5_0 ps_5_0, D3D11)",
            "Apple GPU",
            "Mali-G78",
            "Adreno (TM) 650",
            // A masked name says nothing: multisampled, as before.
            "WebKit WebGL",
            "",
        ] {
            assert!(!is_software_renderer(gpu), "{gpu}");
        }
    }
}
