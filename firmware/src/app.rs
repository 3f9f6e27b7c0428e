//! The boot sequence: verify the embedded model, then run the boot check
//! (`hyperinr_runtime::check`: self-test, golden vectors, classify, decode, render) and,
//! with observations embedded, fit every observation on the device (step 6); log it and
//! write its results file.

use crate::generated as g;
use crate::report::FileSink;
use crate::{board, clock, stack};
use defmt::{error, info, warn};
use embedded_hal::digital::OutputPin;
use hyperinr_runtime::check::{self, Event, Timed};
use hyperinr_runtime::{weights_crc, Error, FitWorkspace, Model, Workspace};
use hyperinr_shared::crc32::{crc32, Crc32};
use hyperinr_shared::observations::{Observations, ObservationsError};
use hyperinr_shared::results::{Encoder, Stage};
use hyperinr_shared::InputKind;

/// Everything passed.
pub const EXIT_OK: i32 = 0;
/// The embedded model was rejected (typed error in the log and the results file).
pub const EXIT_MODEL: i32 = 1;
/// A golden vector did not reproduce bit for bit.
pub const EXIT_SELF_TEST: i32 = 2;
/// An inference call failed (buffer sizes, latent index).
pub const EXIT_RUNTIME: i32 = 3;
/// The firmware itself is inconsistent (peripherals taken twice).
pub const EXIT_INTERNAL: i32 = 4;
/// A panic (the runtime has no panicking path; this would be a bug).
pub const EXIT_PANIC: i32 = 101;
/// The embedded observations file was rejected (typed error in the log and the results
/// file).
pub const EXIT_OBSERVATIONS: i32 = 5;
/// A hard fault.
pub const EXIT_FAULT: i32 = 102;
/// A hard fault with the stack pointer at or below the end of the stack: a stack overflow,
/// caught (flip-link puts the stack below the statics, see `fault.rs`).
pub const EXIT_STACK_OVERFLOW: i32 = 103;

/// Iterations of the calibration loop (2 instructions each).
const CALIBRATION_ITERATIONS: u32 = 1_000_000;
/// Sine evaluations timed on their own (arguments spread over ±40, the range ω0 = 30
/// pre-activations cover).
const SINE_CALLS: usize = 1024;

/// Static buffers, sized by build.rs from the embedded model's config.
struct Buffers {
    latent: [f32; g::LATENT],
    weights: [f32; g::WEIGHTS],
    scratch: [f32; g::SCRATCH],
    logits: [f32; g::LOGITS],
    render: [f32; g::RENDER_LEN],
    coords: [f32; g::COORDS_LEN],
    /// Step 6 (each of length 0 without observations).
    fit_weights: [f32; g::FIT_GRADS],
    fit_grads: [f32; g::FIT_GRADS],
    fit_state: [f32; g::FIT_STATE],
    fit_scratch: [f32; g::FIT_SCRATCH],
    fit_coords: [f32; g::FIT_COORDS],
    fit_targets: [f32; g::FIT_TARGETS],
    io: [u8; 1024],
}

/// A value handed out once as `&'static mut` (no `static mut` needed).
struct TakeOnce<T> {
    value: core::cell::UnsafeCell<T>,
    taken: core::sync::atomic::AtomicBool,
}

// SAFETY: `take` gives out at most one reference, ever.
unsafe impl<T> Sync for TakeOnce<T> {}

impl<T> TakeOnce<T> {
    const fn new(value: T) -> Self {
        Self {
            value: core::cell::UnsafeCell::new(value),
            taken: core::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The value, the first time only.
    // The `&self` → `&mut T` shape is the point of this type (like `static_cell`); the
    // atomic flag makes it unique.
    #[allow(clippy::mut_from_ref)]
    fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, core::sync::atomic::Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the flag guarantees this is the only reference ever created.
        Some(unsafe { &mut *self.value.get() })
    }
}

static BUFFERS: TakeOnce<Buffers> = TakeOnce::new(Buffers {
    latent: [0.0; g::LATENT],
    weights: [0.0; g::WEIGHTS],
    scratch: [0.0; g::SCRATCH],
    logits: [0.0; g::LOGITS],
    render: [0.0; g::RENDER_LEN],
    coords: [0.0; g::COORDS_LEN],
    fit_weights: [0.0; g::FIT_GRADS],
    fit_grads: [0.0; g::FIT_GRADS],
    fit_state: [0.0; g::FIT_STATE],
    fit_scratch: [0.0; g::FIT_SCRATCH],
    fit_coords: [0.0; g::FIT_COORDS],
    fit_targets: [0.0; g::FIT_TARGETS],
    io: [0; 1024],
});

/// The results file's encoder.
type Results = Encoder<FileSink<'static>>;

/// Runs the whole boot sequence and returns the exit status.
pub fn run(led: &mut impl OutputPin) -> i32 {
    let Some(b) = BUFFERS.take() else {
        error!("buffers already taken");
        return EXIT_INTERNAL;
    };
    let _ = led.set_high();
    let mut results = Encoder::new(FileSink::open(&mut b.io));
    let mut buffers = check::Buffers {
        ws: Workspace {
            latent: &mut b.latent,
            weights: &mut b.weights,
            scratch: &mut b.scratch,
            logits: &mut b.logits,
        },
        render: &mut b.render,
        coords: &mut b.coords,
    };
    let mut fit = check::FitBuffers {
        fit: FitWorkspace {
            weights: &mut b.fit_weights,
            weight_grads: &mut b.fit_grads,
            state: &mut b.fit_state,
            scratch: &mut b.fit_scratch,
        },
        coords: &mut b.fit_coords,
        targets: &mut b.fit_targets,
    };
    let status = match boot(&mut buffers, &mut fit, &mut results) {
        Ok(status) => status,
        Err(Failure::Observations(e)) => {
            error!("the embedded observations were rejected: {}", e);
            results.failure_fmt(Stage::Observations, format_args!("{e:?}"));
            EXIT_OBSERVATIONS
        }
        Err(Failure::Runtime(stage, e)) => {
            error!("{} failed: {}", stage, e);
            results.failure_fmt(stage, format_args!("{e:?}"));
            match stage {
                Stage::Parse => EXIT_MODEL,
                Stage::SelfTest => EXIT_SELF_TEST,
                Stage::Inference => EXIT_RUNTIME,
                Stage::Observations => EXIT_OBSERVATIONS,
            }
        }
    };
    let (used, size) = stack::high_water();
    info!(
        "stack: {=usize} of {=usize} bytes used (high-water mark)",
        used, size
    );
    results.stack(used as u32, size as u32);
    results.done(status as u32);
    let (sink, written) = results.finish();
    sink.close();
    if let Err(e) = written {
        warn!("the results file is incomplete: {}", e);
    }
    if status == EXIT_OK {
        let _ = led.set_low();
        info!("done: all checks passed");
    } else {
        error!("done: exit status {=i32}", status);
    }
    status
}

/// Why the boot sequence stopped early.
enum Failure {
    /// A runtime call failed at this stage.
    Runtime(Stage, Error),
    /// The observations file did not parse.
    Observations(ObservationsError),
}

fn boot(
    buffers: &mut check::Buffers<'_>,
    fit: &mut check::FitBuffers<'_>,
    results: &mut Results,
) -> Result<i32, Failure> {
    let blob = g::MODEL;
    let blob_crc = crc32(blob);
    info!(
        "hyperinr firmware, memory map {=str}; model {=usize} bytes, crc32 {=u32:#010x}",
        board::MEMORY_MAP,
        blob.len(),
        blob_crc
    );
    results.info(
        blob.len() as u32,
        blob_crc,
        u32::from(cfg!(feature = "stm32f405")),
    );

    let model = Model::from_bytes(blob).map_err(|e| Failure::Runtime(Stage::Parse, e))?;
    let config = model.config();
    let sizes = model.sizes();
    info!(
        "model `{=str}`: latent {=usize}, {=usize} SIREN parameters, {=usize} classes, {=usize} stored latents, {=usize} golden vectors",
        config.dataset,
        sizes.latent,
        sizes.weights,
        sizes.logits,
        model.latent_count(),
        model.file().golden.len()
    );

    let calibration = clock::calibrate(CALIBRATION_ITERATIONS);
    let (_, overhead) = clock::measure(|| ());
    results.tick(*b"CALB", calibration, 2 * CALIBRATION_ITERATIONS);
    results.tick(*b"NULL", overhead, 0);

    let mut device = Device {
        input: config.input,
        out_dim: sizes.out_dim,
        results,
        calibration,
        timed: [Measured::default(); 6],
        classes_crc: Crc32::new(),
        logits_crc: Crc32::new(),
    };
    let outcome = check::run(&model, buffers, &mut device)
        .map_err(|e| Failure::Runtime(Stage::Inference, e))?;
    if outcome.count == 0 {
        warn!("the model stores no latents: nothing to decode or render");
    }
    if g::FITTING {
        let observations = Observations::parse(g::OBSERVATIONS).map_err(Failure::Observations)?;
        let settings = model.fit_settings();
        info!(
            "fitting {=usize} observations on the device: {=u32} Adam steps at lr {=f32}, {=usize} points each",
            observations.len(),
            settings.steps,
            settings.lr,
            match config.input {
                InputKind::PointCloud { .. } => check::FIT_QUERIES,
                InputKind::Image { .. } if observations.fitted.is_empty() => {
                    check::render_points(&config.input)
                }
                InputKind::Image { .. } => observations.fitted.len(),
            }
        );
        check::fit_observations(&model, &observations, &mut buffers.ws, fit, &mut device)
            .map_err(|e| Failure::Runtime(Stage::Inference, e))?;
    }
    Ok(if outcome.self_test.is_ok() {
        EXIT_OK
    } else {
        EXIT_SELF_TEST
    })
}

/// Ticks and work of one timed step.
#[derive(Clone, Copy, Default)]
struct Measured {
    ticks: u64,
    work: usize,
}

/// The boot check's report on the device: results records, log lines, timings.
struct Device<'r> {
    input: InputKind,
    out_dim: usize,
    results: &'r mut Results,
    calibration: u64,
    /// By [`slot`].
    timed: [Measured; 6],
    classes_crc: Crc32,
    logits_crc: Crc32,
}

fn slot(step: Timed) -> usize {
    match step {
        Timed::SelfTest => 0,
        Timed::Decode => 1,
        Timed::Classify => 2,
        Timed::Render => 3,
        Timed::Fit => 4,
        Timed::Queries => 5,
    }
}

impl Device<'_> {
    fn timed(&self, step: Timed) -> Measured {
        self.timed.get(slot(step)).copied().unwrap_or_default()
    }

    fn tick(&mut self, name: [u8; 4], step: Timed) {
        let m = self.timed(step);
        self.results.tick(name, m.ticks, m.work as u32);
    }

    /// Timings of step 5 and the sine, in the log and the results file.
    fn report_timings(&mut self) {
        let (sum, sine_ticks) = clock::measure(|| {
            let mut sum = 0.0f32;
            for i in 0..SINE_CALLS {
                let x = core::hint::black_box((i as f32 - 512.0) * (40.0 / 512.0));
                sum += hyperinr_runtime::sine(x);
            }
            sum
        });
        core::hint::black_box(sum);
        self.results.tick(*b"SINE", sine_ticks, SINE_CALLS as u32);
        self.tick(*b"DECO", Timed::Decode);
        self.tick(*b"CLAS", Timed::Classify);
        self.tick(*b"REND", Timed::Render);
        let (decode, classify, render) = (
            self.timed(Timed::Decode),
            self.timed(Timed::Classify),
            self.timed(Timed::Render),
        );
        info!(
            "ticks: decode {=u64} ({=usize} MACs), classify {=u64} ({=usize} MACs), render {=u64} ({=usize} MACs); calibration {=u64} ticks for {=u32} instructions",
            decode.ticks,
            decode.work,
            classify.ticks,
            classify.work,
            render.ticks,
            render.work,
            self.calibration,
            2 * CALIBRATION_ITERATIONS
        );
    }
}

impl check::Report for Device<'_> {
    fn measure<T>(&mut self, step: Timed, work: usize, f: impl FnOnce() -> T) -> T {
        let (value, ticks) = clock::measure(f);
        if let Some(m) = self.timed.get_mut(slot(step)) {
            *m = Measured { ticks, work };
        }
        value
    }

    /// The event's record (the encoder's own mapping), with the timing records around it
    /// where they belong, then its log lines.
    fn event(&mut self, event: Event<'_>) {
        if let Event::Rendered { .. } = event {
            self.report_timings();
        }
        if let Event::Fitted { .. } = event {
            if let InputKind::PointCloud { .. } = self.input {
                self.tick(*b"QURY", Timed::Queries);
            }
            self.tick(*b"FIT ", Timed::Fit);
        }
        self.results.event(event);
        if let Event::SelfTest(_) = event {
            self.tick(*b"SELF", Timed::SelfTest);
        }
        self.log(event);
    }
}

impl Device<'_> {
    /// The log lines and digests of an event.
    fn log(&mut self, event: Event<'_>) {
        match event {
            Event::SelfTest(Ok(n)) => info!(
                "self-test: {=usize} golden vectors reproduce bit for bit",
                n
            ),
            Event::SelfTest(Err(e)) => error!("self-test failed: {}", e),
            Event::Classified { class, logits, .. } => {
                for v in logits {
                    self.logits_crc.update(&v.to_le_bytes());
                }
                self.classes_crc.update(&(class as u32).to_le_bytes());
            }
            Event::Accuracy { correct, count } => {
                let percent = if count == 0 {
                    0.0
                } else {
                    100.0 * correct as f32 / count as f32
                };
                info!(
                    "accuracy on the stored latents: {=usize}/{=usize} = {=f32}%",
                    correct, count, percent
                );
                info!(
                    "digest: classes crc32 {=u32:#010x}, logits crc32 {=u32:#010x}",
                    self.classes_crc.finish(),
                    self.logits_crc.finish()
                );
            }
            Event::Fitted {
                observation,
                dataset_index,
                label,
                class,
                outcome,
                latent,
                ..
            } => {
                let fit = self.timed(Timed::Fit);
                info!(
                    "observation {=usize} (dataset index {=u32}, label {=u8}): fitted in {=u32} steps over {=usize} points, mse {=f32}, class {=usize}; {=u64} ticks; latent crc32 {=u32:#010x}",
                    observation,
                    dataset_index,
                    label,
                    outcome.steps,
                    outcome.points,
                    outcome.mse,
                    class,
                    fit.ticks,
                    weights_crc(latent)
                );
            }
            Event::FitAccuracy { correct, count } => {
                let percent = if count == 0 {
                    0.0
                } else {
                    100.0 * correct as f32 / count as f32
                };
                info!(
                    "accuracy of the latents fitted on the device: {=usize}/{=usize} = {=f32}%",
                    correct, count, percent
                );
            }
            Event::Decoded { latent, weights } => info!(
                "digest: latent {=usize} decodes to {=usize} parameters, crc32 {=u32:#010x}",
                latent,
                weights.len(),
                weights_crc(weights)
            ),
            Event::Rendered {
                latent,
                points,
                values,
                ..
            } => {
                info!(
                    "digest: latent {=usize} rendered at {=usize} points, crc32 {=u32:#010x}",
                    latent,
                    points,
                    weights_crc(values)
                );
                if let InputKind::Image { width, height } = self.input {
                    ascii_art(values, width as usize, height as usize, self.out_dim);
                }
            }
            _ => {}
        }
    }
}

/// Logs a small image as text, one line per row (intensity ramp ` .:-=+*#%@`).
fn ascii_art(pixels: &[f32], width: usize, height: usize, out_dim: usize) {
    const RAMP: &[u8] = b" .:-=+*#%@";
    const MAX_WIDTH: usize = 64;
    if width > MAX_WIDTH || out_dim == 0 {
        return;
    }
    for row in 0..height {
        let mut line = [b' '; MAX_WIDTH];
        for (col, slot) in line.iter_mut().enumerate().take(width) {
            let v = pixels
                .get((row * width + col) * out_dim)
                .copied()
                .unwrap_or(0.0);
            let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
            let level = (v * (RAMP.len() - 1) as f32 + 0.5) as usize;
            *slot = RAMP.get(level).copied().unwrap_or(b'?');
        }
        let text = line
            .get(..width)
            .and_then(|l| core::str::from_utf8(l).ok())
            .unwrap_or("");
        info!("|{=str}|", text);
    }
}
