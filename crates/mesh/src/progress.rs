//! Progress reporting and cancellation for long runs (the Models page runs the pipeline in a Web
//! Worker and shows a progress bar with a cancel button).
//!
//! Each pipeline stage owns a slice of `[0, 1]`; loops report their fraction of the stage at least
//! every 1 % of the whole run, so the callback fires far more often than the 5 % the UI needs.

use crate::MeshError;

/// The caller's progress callback and cancellation check, threaded through every stage.
pub(crate) struct Hooks<'a> {
    progress: &'a mut dyn FnMut(f32),
    cancel: &'a dyn Fn() -> bool,
    start: f32,
    span: f32,
    // Sub-range of the current stage that `at` fractions map into (see `within`).
    inner: (f32, f32),
    last: f32,
}

impl<'a> Hooks<'a> {
    pub(crate) fn new(progress: &'a mut dyn FnMut(f32), cancel: &'a dyn Fn() -> bool) -> Self {
        Hooks {
            progress,
            cancel,
            start: 0.0,
            span: 0.0,
            inner: (0.0, 1.0),
            last: -1.0,
        }
    }

    /// Enter a stage covering `[start, end]` of the whole run.
    pub(crate) fn stage(&mut self, start: f32, end: f32) -> Result<(), MeshError> {
        self.start = start;
        self.span = (end - start).max(0.0);
        self.inner = (0.0, 1.0);
        if start > self.last {
            self.last = start;
            (self.progress)(start);
        }
        self.at(0.0)
    }

    /// Map later `at` fractions into `[a, b]` of the current stage (for a loop over sub-steps,
    /// such as smoothing passes, whose parts report 0..=1 each).
    pub(crate) fn within(&mut self, a: f32, b: f32) {
        self.inner = (a.clamp(0.0, 1.0), b.clamp(0.0, 1.0));
    }

    /// Report `frac` (0..=1) of the current stage; checks cancellation.
    pub(crate) fn at(&mut self, frac: f32) -> Result<(), MeshError> {
        let (a, b) = self.inner;
        let frac = a + (b - a) * frac.clamp(0.0, 1.0);
        let overall = (self.start + self.span * frac).clamp(0.0, 1.0);
        if overall >= self.last + 0.01 || (overall >= 1.0 && self.last < 1.0) {
            self.last = overall;
            (self.progress)(overall);
        }
        if (self.cancel)() {
            return Err(MeshError::Cancelled);
        }
        Ok(())
    }

    /// Report item `i` of `n` in a loop, cheaply: about every 1/128 of the loop.
    #[inline]
    pub(crate) fn tick(&mut self, i: usize, n: usize) -> Result<(), MeshError> {
        let mask = (n >> 7).max(1).next_power_of_two() - 1;
        if i & mask == 0 && n > 0 {
            self.at(i as f32 / n as f32)
        } else {
            Ok(())
        }
    }

    /// Hooks that report nowhere and never cancel, for `f`.
    pub(crate) fn quiet<R>(f: impl FnOnce(&mut Hooks<'_>) -> R) -> R {
        let mut progress = |_: f32| {};
        let cancel = || false;
        f(&mut Hooks::new(&mut progress, &cancel))
    }

    /// Final call: progress 1.0.
    pub(crate) fn done(&mut self) {
        if self.last < 1.0 {
            self.last = 1.0;
            (self.progress)(1.0);
        }
    }
}
