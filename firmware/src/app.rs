//! The boot sequence: verify, self-test, classify, decode, render, report.

use crate::generated as g;
use crate::report::{FmtBuf, Report};
use crate::{board, clock, stack};
use defmt::{error, info, warn};
use embedded_hal::digital::OutputPin;
use hyperinr_runtime::{dequantize_latent, image_coord, Error, Model, Workspace};
use hyperinr_shared::crc32::{crc32, Crc32};
use hyperinr_shared::{InputKind, MAX_OUT_DIM};

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

/// Where an error was raised, as recorded in the results file.
#[derive(Clone, Copy, defmt::Format)]
enum Stage {
    /// `Model::from_bytes`.
    Parse = 1,
    /// `Model::self_test`.
    SelfTest = 2,
    /// Any later inference call.
    Inference = 3,
}

/// Static buffers, sized by build.rs from the embedded model's config.
struct Buffers {
    latent: [f32; g::LATENT],
    weights: [f32; g::WEIGHTS],
    scratch: [f32; g::SCRATCH],
    logits: [f32; g::LOGITS],
    render: [f32; g::RENDER_LEN],
    coords: [f32; g::COORDS_LEN],
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
    io: [0; 1024],
});

fn report_error(report: &mut Report<'_>, stage: Stage, e: &Error) {
    let mut text = FmtBuf::<256>::new();
    let _ = core::fmt::write(&mut text, format_args!("{e:?}"));
    report.record(b"ERR ", 4 + text.as_bytes().len());
    report.u32(stage as u32);
    report.bytes(text.as_bytes());
}

fn f32_crc(values: &[f32]) -> u32 {
    let mut crc = Crc32::new();
    for v in values {
        crc.update(&v.to_le_bytes());
    }
    crc.finish()
}

/// Runs the whole boot sequence and returns the exit status.
pub fn run(led: &mut impl OutputPin) -> i32 {
    let Some(b) = BUFFERS.take() else {
        error!("buffers already taken");
        return EXIT_INTERNAL;
    };
    let Buffers {
        latent,
        weights,
        scratch,
        logits,
        render,
        coords,
        io,
    } = b;
    let _ = led.set_high();
    let mut report = Report::open(io);
    let mut ws = Workspace {
        latent,
        weights,
        scratch,
        logits,
    };
    let status = match boot(&mut ws, render, coords, &mut report) {
        Ok(status) => status,
        Err((stage, e)) => {
            error!("{} failed: {}", stage, e);
            report_error(&mut report, stage, &e);
            match stage {
                Stage::Parse => EXIT_MODEL,
                Stage::SelfTest => EXIT_SELF_TEST,
                Stage::Inference => EXIT_RUNTIME,
            }
        }
    };
    let (used, size) = stack::high_water();
    info!(
        "stack: {=usize} of {=usize} bytes used (high-water mark)",
        used, size
    );
    report.record(b"STAK", 8);
    report.u32(used as u32);
    report.u32(size as u32);
    report.record(b"DONE", 4);
    report.u32(status as u32);
    report.finish();
    if status == EXIT_OK {
        let _ = led.set_low();
        info!("done: all checks passed");
    } else {
        error!("done: exit status {=i32}", status);
    }
    status
}

fn tick(report: &mut Report<'_>, name: &[u8; 4], ticks: u64, work: usize) {
    report.record(b"TICK", 16);
    report.bytes(name);
    report.u32(ticks as u32);
    report.u32((ticks >> 32) as u32);
    report.u32(work as u32);
}

type Failure = (Stage, Error);

fn inference<T>(r: Result<T, Error>) -> Result<T, Failure> {
    r.map_err(|e| (Stage::Inference, e))
}

fn boot(
    ws: &mut Workspace<'_>,
    render: &mut [f32],
    coords: &mut [f32],
    report: &mut Report<'_>,
) -> Result<i32, Failure> {
    let blob = g::MODEL;
    let blob_crc = crc32(blob);
    info!(
        "hyperinr firmware, memory map {=str}; model {=usize} bytes, crc32 {=u32:#010x}",
        board::MEMORY_MAP,
        blob.len(),
        blob_crc
    );
    report.record(b"INFO", 12);
    report.u32(blob.len() as u32);
    report.u32(blob_crc);
    report.u32(u32::from(cfg!(feature = "stm32f405")));

    let model = Model::from_bytes(blob).map_err(|e| (Stage::Parse, e))?;
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
    tick(
        report,
        b"CALB",
        calibration,
        2 * CALIBRATION_ITERATIONS as usize,
    );
    tick(report, b"NULL", overhead, 0);

    // 1. Golden vectors.
    let mut status = EXIT_OK;
    let (checked, ticks) = clock::measure(|| model.self_test(ws));
    match checked {
        Ok(n) => {
            info!(
                "self-test: {=usize} golden vectors reproduce bit for bit",
                n
            );
            report.record(b"SELF", 4);
            report.u32(n as u32);
        }
        Err(e) => {
            error!("self-test failed: {}", e);
            report_error(report, Stage::SelfTest, &e);
            status = EXIT_SELF_TEST;
        }
    }
    tick(report, b"SELF", ticks, 0);
    golden_outputs(&model, ws, report)?;

    // 2. Every stored latent through the classifier.
    let count = model.latent_count();
    report.record(b"CLAS", 8 + count * 4 * (1 + sizes.logits));
    report.u32(count as u32);
    report.u32(sizes.logits as u32);
    let mut correct = 0usize;
    let mut logits_crc = Crc32::new();
    let mut classes_crc = Crc32::new();
    for j in 0..count {
        let stored = inference(model.stored_latent(j, ws.latent))?;
        let class = inference(model.classify(ws.latent, ws.logits, ws.scratch))?;
        if class == usize::from(stored.label) {
            correct += 1;
        }
        report.u32(class as u32);
        report.f32s(ws.logits);
        for v in ws.logits.iter() {
            logits_crc.update(&v.to_le_bytes());
        }
        classes_crc.update(&(class as u32).to_le_bytes());
    }
    report.record(b"ACCU", 8);
    report.u32(correct as u32);
    report.u32(count as u32);
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
        classes_crc.finish(),
        logits_crc.finish()
    );
    if count == 0 {
        warn!("the model stores no latents: nothing to decode or render");
        return Ok(status);
    }

    // 3. Decoded SIREN parameters of three latents (first, middle, last).
    let picks = [0, count / 2, count - 1];
    for (k, &j) in picks.iter().enumerate() {
        if picks.get(..k).is_some_and(|seen| seen.contains(&j)) {
            continue;
        }
        inference(model.stored_latent(j, ws.latent))?;
        inference(model.decode_weights(ws.latent, ws.weights, ws.scratch))?;
        report.record(b"WGTS", 8 + 4 * ws.weights.len());
        report.u32(j as u32);
        report.u32(ws.weights.len() as u32);
        report.f32s(ws.weights);
        info!(
            "digest: latent {=usize} decodes to {=usize} parameters, crc32 {=u32:#010x}",
            j,
            ws.weights.len(),
            f32_crc(ws.weights)
        );
    }

    // 4. Measured: one decode, one classification, one render of latent 0.
    inference(model.stored_latent(0, ws.latent))?;
    let (r, decode_ticks) =
        clock::measure(|| model.decode_weights(ws.latent, ws.weights, ws.scratch));
    inference(r)?;
    let (r, classify_ticks) = clock::measure(|| model.classify(ws.latent, ws.logits, ws.scratch));
    inference(r)?;
    let (r, render_ticks, points) = render_latent(&model, ws, render, coords);
    inference(r)?;
    let render_macs = model.siren_macs_per_point() * points;
    let (sum, sine_ticks) = clock::measure(|| {
        let mut sum = 0.0f32;
        for i in 0..SINE_CALLS {
            let x = core::hint::black_box((i as f32 - 512.0) * (40.0 / 512.0));
            sum += hyperinr_runtime::sine(x);
        }
        sum
    });
    core::hint::black_box(sum);
    tick(report, b"SINE", sine_ticks, SINE_CALLS);
    tick(report, b"DECO", decode_ticks, model.decode_macs());
    tick(report, b"CLAS", classify_ticks, model.classify_macs());
    tick(report, b"REND", render_ticks, render_macs);
    info!(
        "ticks: decode {=u64} ({=usize} MACs), classify {=u64} ({=usize} MACs), render {=u64} ({=usize} MACs); calibration {=u64} ticks for {=u32} instructions",
        decode_ticks,
        model.decode_macs(),
        classify_ticks,
        model.classify_macs(),
        render_ticks,
        render_macs,
        calibration,
        2 * CALIBRATION_ITERATIONS
    );

    let out_dim = sizes.out_dim;
    report.record(b"RNDR", 16 + 4 * render.len());
    report.u32(0);
    report.u32(g::RENDER_KIND);
    report.u32(points as u32);
    report.u32(out_dim as u32);
    report.f32s(render);
    info!(
        "digest: latent 0 rendered at {=usize} points, crc32 {=u32:#010x}",
        points,
        f32_crc(render)
    );
    if let InputKind::Image { width, height } = config.input {
        ascii_art(render, width as usize, height as usize, out_dim);
    }
    Ok(status)
}

/// Recomputes every golden vector's outputs (the self-test compares them; this records them).
fn golden_outputs(
    model: &Model<'_>,
    ws: &mut Workspace<'_>,
    report: &mut Report<'_>,
) -> Result<(), Failure> {
    let sizes = model.sizes();
    let (in_dim, out_dim) = (sizes.in_dim, sizes.out_dim);
    for (i, gv) in model.file().golden.iter().enumerate() {
        inference(dequantize_latent(gv.codes, gv.scale, ws.latent))?;
        inference(model.decode_weights(ws.latent, ws.weights, ws.scratch))?;
        let class = inference(model.classify(ws.latent, ws.logits, ws.scratch))?;
        let points = gv.coords.len() / in_dim.max(1);
        report.record(b"GVEC", 20 + 4 * points * out_dim + 4 * ws.logits.len());
        report.u32(i as u32);
        report.u32(hyperinr_runtime::weights_crc(ws.weights));
        report.u32(class as u32);
        report.u32((points * out_dim) as u32);
        for p in 0..points {
            let mut x = [0.0f32; 3];
            for (k, slot) in x.iter_mut().enumerate().take(in_dim) {
                *slot = gv.coords.get(p * in_dim + k).unwrap_or(f32::NAN);
            }
            let mut y = [0.0f32; MAX_OUT_DIM as usize];
            let (x, y) = match (x.get(..in_dim), y.get_mut(..out_dim)) {
                (Some(x), Some(y)) => (x, y),
                _ => {
                    return Err((
                        Stage::Inference,
                        Error::BufferSize {
                            buffer: hyperinr_runtime::Buffer::Coords,
                            needed: in_dim,
                            got: 3,
                        },
                    ))
                }
            };
            inference(model.eval_siren(ws.weights, x, y, ws.scratch))?;
            report.f32s(y);
        }
        report.u32(ws.logits.len() as u32);
        report.f32s(ws.logits);
    }
    Ok(())
}

/// Renders latent 0 (whose parameters are in `ws.weights`): every pixel of an image
/// model, or a `CLOUD_GRID³` grid of cell centres for a point-cloud model. Returns the
/// result, the ticks taken and the number of points.
fn render_latent(
    model: &Model<'_>,
    ws: &mut Workspace<'_>,
    render: &mut [f32],
    coords: &mut [f32],
) -> (Result<(), Error>, u64, usize) {
    if g::RENDER_KIND == 0 {
        let (r, ticks) = clock::measure(|| model.render_image(ws.weights, render, ws.scratch));
        return (r, ticks, g::RENDER_POINTS);
    }
    // Grid point (i, j, k), i fastest: (image_coord(i), image_coord(j), image_coord(k)).
    let n = g::CLOUD_GRID;
    let mut points = 0;
    for (p, xyz) in coords.chunks_exact_mut(3).enumerate() {
        let p = p as u32;
        let axes = [p % n, (p / n) % n, p / (n * n)];
        for (slot, a) in xyz.iter_mut().zip(axes) {
            *slot = image_coord(a, n);
        }
        points += 1;
    }
    let (r, ticks) = clock::measure(|| model.eval_siren(ws.weights, coords, render, ws.scratch));
    (r, ticks, points)
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
