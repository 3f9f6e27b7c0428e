//! What the host runtime computes for a blob, in the shape of the firmware's results, and
//! the comparison of the two.
//!
//! The host replays the firmware's boot check itself (`hyperinr_runtime::check::run`, the
//! one definition of its steps and their order) into a results file of its own.

use crate::results::{FittedRun, GoldenRun, Render, Results, Stage};
use hyperinr_runtime::check;
use hyperinr_runtime::{Error, FitWorkspaceBuf, Model, WorkspaceBuf};
use hyperinr_shared::crc32::{crc32, Crc32};
use hyperinr_shared::observations::Observations;
use hyperinr_shared::results::Encoder;

/// Host-side results for one blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// `(blob length, CRC-32 of the blob)`.
    pub blob: (u32, u32),
    /// `self_test` result: golden vectors checked, or the error's `Debug` text.
    pub self_test: Result<u32, String>,
    /// Each golden vector recomputed.
    pub golden: Vec<GoldenRun>,
    /// Class and logit bits of every stored latent.
    pub classes: Vec<(u32, Vec<u32>)>,
    /// `(correct, count)`.
    pub accuracy: (u32, u32),
    /// Decoded parameters of stored latents first, middle, last.
    pub weights: Vec<(u32, Vec<u32>)>,
    /// Latent 0 rendered (image pixels or the point grid).
    pub render: Option<Render>,
    /// Step 6: every embedded observation fitted and classified.
    pub fitted: Vec<FittedRun>,
    /// Step 6: `(correct, count)`.
    pub fit_accuracy: Option<(u32, u32)>,
}

/// CRC-32 of `f32` bits given as `u32`s (little-endian bytes), as the firmware logs them.
pub fn bits_crc(values: &[u32]) -> u32 {
    let mut crc = Crc32::new();
    for v in values {
        crc.update(&v.to_le_bytes());
    }
    crc.finish()
}

/// Runs the firmware's boot check over `blob` on the host: into a results file of its own,
/// through the same encoder as the firmware's, decoded by the same reader.
pub fn compute(blob: &[u8]) -> Result<Expected, Error> {
    compute_with(blob, None)
}

/// [`compute`], then step 6 on `observations` as the firmware runs it when they are
/// embedded (`check::fit_observations`).
pub fn compute_with(
    blob: &[u8],
    observations: Option<&Observations<'_>>,
) -> Result<Expected, Error> {
    let model = Model::from_bytes(blob)?;
    let mut ws = WorkspaceBuf::new(&model);
    let mut render = vec![0.0f32; check::render_len(&model)];
    let mut coords = vec![0.0f32; check::coords_len(&model)];
    let mut buffers = check::Buffers {
        ws: ws.workspace(),
        render: &mut render,
        coords: &mut coords,
    };
    let mut file = Encoder::new(Vec::new());
    check::run(&model, &mut buffers, &mut file)?;
    if let Some(observations) = observations {
        let mut fit = FitWorkspaceBuf::new(&model);
        let mut coords = vec![0.0f32; check::fit_coords_len(&model)];
        let mut targets = vec![0.0f32; check::fit_targets_len(&model)];
        let mut fit_buffers = check::FitBuffers {
            fit: fit.workspace(),
            coords: &mut coords,
            targets: &mut targets,
        };
        check::fit_observations(
            &model,
            observations,
            &mut buffers.ws,
            &mut fit_buffers,
            &mut file,
        )?;
    }
    let (file, written) = file.finish();
    if let Err(e) = written {
        panic!("the host's results file is incomplete: {e}");
    }
    let r = Results::parse(&file).unwrap_or_else(|e| panic!("the host's results file: {e}"));
    let failed = r.errors.iter().find(|(stage, _)| *stage == Stage::SelfTest);
    let self_test = match (r.self_test, failed) {
        (Some(n), _) => Ok(n),
        (None, Some((_, text))) => Err(text.clone()),
        (None, None) => Err("the self-test was not reported".into()),
    };
    Ok(Expected {
        blob: (blob.len() as u32, crc32(blob)),
        self_test,
        golden: r.golden,
        classes: r.classes,
        accuracy: r.accuracy.unwrap_or_default(),
        weights: r.weights,
        render: r.render,
        fitted: r.fitted,
        fit_accuracy: r.fit_accuracy,
    })
}

/// Index and values of the first difference between two bit vectors, for messages.
fn first_difference(a: &[u32], b: &[u32]) -> String {
    if a.len() != b.len() {
        return format!("lengths differ: {} vs {}", a.len(), b.len());
    }
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!(
            "first difference at {i}: {:e} ({:#010x}) vs {:e} ({:#010x}); {} values differ",
            f32::from_bits(a[i]),
            a[i],
            f32::from_bits(b[i]),
            b[i],
            a.iter().zip(b).filter(|(x, y)| x != y).count()
        ),
        None => "identical".into(),
    }
}

/// Every difference between the firmware's results and the host's, as messages (empty:
/// bit-identical).
pub fn compare(device: &Results, host: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    match device.info {
        Some((len, crc, _)) if (len, crc) == host.blob => {}
        other => problems.push(format!(
            "blob (length, crc32): device {other:?}, host {:?}",
            host.blob
        )),
    }
    match (&host.self_test, device.self_test) {
        (Ok(n), Some(m)) if *n == m => {}
        (Err(text), None) => {
            let device_text = device
                .errors
                .iter()
                .find(|(s, _)| *s == Stage::SelfTest)
                .map(|(_, t)| t.as_str());
            if device_text != Some(text.as_str()) {
                problems.push(format!(
                    "self-test: host failed with {text}, device reported {device_text:?}"
                ));
            }
        }
        (h, d) => problems.push(format!("self-test: host {h:?}, device {d:?}")),
    }
    if device.golden.len() != host.golden.len() {
        problems.push(format!(
            "golden vectors: device recorded {}, host {}",
            device.golden.len(),
            host.golden.len()
        ));
    }
    for (d, h) in device.golden.iter().zip(&host.golden) {
        if d != h {
            problems.push(format!(
                "golden vector {}: weights crc {:#010x} vs {:#010x}, class {} vs {}, outputs {}, logits {}",
                h.index,
                d.weights_crc,
                h.weights_crc,
                d.class,
                h.class,
                first_difference(&d.outputs, &h.outputs),
                first_difference(&d.logits, &h.logits)
            ));
        }
    }
    if device.classes.len() != host.classes.len() {
        problems.push(format!(
            "classified latents: device {}, host {}",
            device.classes.len(),
            host.classes.len()
        ));
    }
    let mismatched: Vec<usize> = device
        .classes
        .iter()
        .zip(&host.classes)
        .enumerate()
        .filter(|(_, (d, h))| d != h)
        .map(|(j, _)| j)
        .collect();
    if let Some(&j) = mismatched.first() {
        let (d, h) = (&device.classes[j], &host.classes[j]);
        problems.push(format!(
            "{} of {} latents classify differently; first: latent {j}, class {} vs {}, logits {}",
            mismatched.len(),
            host.classes.len(),
            d.0,
            h.0,
            first_difference(&d.1, &h.1)
        ));
    }
    if device.accuracy != Some(host.accuracy) {
        problems.push(format!(
            "accuracy: device {:?}, host {:?}",
            device.accuracy, host.accuracy
        ));
    }
    let device_picks: Vec<u32> = device.weights.iter().map(|(j, _)| *j).collect();
    let host_picks: Vec<u32> = host.weights.iter().map(|(j, _)| *j).collect();
    if device_picks != host_picks {
        problems.push(format!(
            "decoded latents: device {device_picks:?}, host {host_picks:?}"
        ));
    }
    for ((j, d), (_, h)) in device.weights.iter().zip(&host.weights) {
        if d != h {
            problems.push(format!(
                "decoded weights of latent {j}: {}",
                first_difference(d, h)
            ));
        }
    }
    match (&device.render, &host.render) {
        (Some(d), Some(h)) if d == h => {}
        (Some(d), Some(h)) => problems.push(format!(
            "render of latent {}: kind {:?} vs {:?}, points {} vs {}, values {}",
            h.latent,
            d.kind,
            h.kind,
            d.points,
            h.points,
            first_difference(&d.values, &h.values)
        )),
        (None, None) => {}
        (d, h) => problems.push(format!(
            "render: device {}, host {}",
            if d.is_some() { "present" } else { "missing" },
            if h.is_some() { "present" } else { "missing" }
        )),
    }
    if device.fitted.len() != host.fitted.len() {
        problems.push(format!(
            "fitted observations: device {}, host {}",
            device.fitted.len(),
            host.fitted.len()
        ));
    }
    for (d, h) in device.fitted.iter().zip(&host.fitted) {
        if d != h {
            problems.push(format!(
                "observation {} fitted differently: class {} vs {}, steps {} vs {}, points {} vs {}, mse {:#010x} vs {:#010x}, latent {}, logits {}",
                h.observation,
                d.class,
                h.class,
                d.steps,
                h.steps,
                d.points,
                h.points,
                d.mse,
                h.mse,
                first_difference(&d.latent, &h.latent),
                first_difference(&d.logits, &h.logits)
            ));
        }
    }
    if device.fit_accuracy != host.fit_accuracy {
        problems.push(format!(
            "accuracy of the fitted observations: device {:?}, host {:?}",
            device.fit_accuracy, host.fit_accuracy
        ));
    }
    problems
}

/// The digest lines the firmware must log for `host` (defmt-decoded text).
pub fn digest_lines(host: &Expected) -> Vec<String> {
    let mut lines = Vec::new();
    let mut classes = Crc32::new();
    let mut logits = Crc32::new();
    for (class, l) in &host.classes {
        classes.update(&class.to_le_bytes());
        for v in l {
            logits.update(&v.to_le_bytes());
        }
    }
    lines.push(format!(
        "digest: classes crc32 {:#010x}, logits crc32 {:#010x}",
        classes.finish(),
        logits.finish()
    ));
    for (j, w) in &host.weights {
        lines.push(format!(
            "digest: latent {j} decodes to {} parameters, crc32 {:#010x}",
            w.len(),
            bits_crc(w)
        ));
    }
    if let Some(r) = &host.render {
        lines.push(format!(
            "digest: latent 0 rendered at {} points, crc32 {:#010x}",
            r.points,
            bits_crc(&r.values)
        ));
    }
    let (correct, count) = host.accuracy;
    lines.push(format!(
        "accuracy on the stored latents: {correct}/{count} = "
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{model_bytes, Spec};

    fn as_device(host: &Expected) -> Results {
        Results {
            info: Some((host.blob.0, host.blob.1, 0)),
            self_test: host.self_test.clone().ok(),
            golden: host.golden.clone(),
            classes: host.classes.clone(),
            accuracy: Some(host.accuracy),
            weights: host.weights.clone(),
            render: host.render.clone(),
            fitted: host.fitted.clone(),
            fit_accuracy: host.fit_accuracy,
            ..Results::default()
        }
    }

    #[test]
    fn compare_finds_every_flipped_bit() {
        let blob = model_bytes(&Spec::point_cloud());
        let host = compute(&blob).unwrap();
        assert_eq!(host.self_test, Ok(3));
        assert_eq!(
            host.weights.iter().map(|w| w.0).collect::<Vec<_>>(),
            [0, 50, 99]
        );
        let mut device = as_device(&host);
        assert!(compare(&device, &host).is_empty());
        device.weights[1].1[7] ^= 1;
        device.classes[3].1[2] ^= 1 << 31;
        device.render.as_mut().unwrap().values[511] ^= 1 << 4;
        device.golden[2].outputs[0] ^= 1;
        let problems = compare(&device, &host);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[1].contains("latent 3"), "{}", problems[1]);
    }
}
