//! Consistency checks: after these pass, every array has the length the config implies,
//! every class id is in range and every scale and bias is finite.

use crate::error::{FormatError, Problem};
use crate::model::{
    InputKind, ModelFile, QuantLinear, MAX_CLASSES, MAX_IMAGE_SIDE, MAX_OUT_DIM, MAX_WIDTH,
};
use crate::slices::F32Slice;

fn invalid(field: &'static str, index: usize, problem: Problem) -> FormatError {
    FormatError::Invalid {
        field,
        index: index as u32,
        problem,
    }
}

fn dim(field: &'static str, index: usize, expected: u64, found: u64) -> Result<(), FormatError> {
    if expected == found {
        Ok(())
    } else {
        Err(invalid(
            field,
            index,
            Problem::Dimension { expected, found },
        ))
    }
}

fn len(field: &'static str, index: usize, expected: u64, found: usize) -> Result<(), FormatError> {
    if expected == found as u64 {
        Ok(())
    } else {
        Err(invalid(
            field,
            index,
            Problem::Length {
                expected,
                found: found as u64,
            },
        ))
    }
}

fn width(field: &'static str, index: usize, value: u32, max: u32) -> Result<(), FormatError> {
    if value == 0 {
        Err(invalid(field, index, Problem::Empty))
    } else if value > max {
        Err(invalid(
            field,
            index,
            Problem::TooLarge {
                found: value as u64,
                max: max as u64,
            },
        ))
    } else {
        Ok(())
    }
}

fn finite(field: &'static str, index: usize, values: F32Slice<'_>) -> Result<(), FormatError> {
    if values.iter().all(f32::is_finite) {
        Ok(())
    } else {
        Err(invalid(field, index, Problem::NonFinite))
    }
}

fn positive(field: &'static str, value: f32) -> Result<(), FormatError> {
    positive_at(field, 0, value)
}

fn positive_at(field: &'static str, index: usize, value: f32) -> Result<(), FormatError> {
    if !value.is_finite() {
        Err(invalid(field, index, Problem::NonFinite))
    } else if value > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, index, Problem::NotPositive))
    }
}

fn non_negative(field: &'static str, value: f32) -> Result<(), FormatError> {
    if !value.is_finite() {
        Err(invalid(field, 0, Problem::NonFinite))
    } else if value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(field, 0, Problem::Negative))
    }
}

/// An Adam decay: finite, in `[0, 1)`.
fn decay(field: &'static str, value: f32) -> Result<(), FormatError> {
    non_negative(field, value)?;
    if value < 1.0 {
        Ok(())
    } else {
        Err(invalid(field, 0, Problem::NotBelowOne))
    }
}

/// A share: finite, in `[0, 1]`.
fn share(field: &'static str, value: f32) -> Result<(), FormatError> {
    non_negative(field, value)?;
    if value <= 1.0 {
        Ok(())
    } else {
        Err(invalid(field, 0, Problem::AboveOne))
    }
}

/// Checks one int8 layer's shape against `rows × cols` and its arrays; `index` names it.
fn layer(
    name: [&'static str; 5],
    index: usize,
    layer: &QuantLinear<'_>,
    rows: u32,
    cols: u32,
) -> Result<(), FormatError> {
    let [f_cols, f_rows, f_weights, f_scales, f_bias] = name;
    dim(f_cols, index, cols as u64, layer.cols as u64)?;
    dim(f_rows, index, rows as u64, layer.rows as u64)?;
    let rows = layer.rows as u64;
    len(
        f_weights,
        index,
        rows * layer.cols as u64,
        layer.weights.as_bytes().len(),
    )?;
    len(f_scales, index, rows * 4, layer.scales.as_bytes().len())?;
    len(f_bias, index, rows * 4, layer.bias.as_bytes().len())?;
    finite(f_scales, index, layer.scales)?;
    finite(f_bias, index, layer.bias)
}

/// Checks one MLP: `inputs` → `layers` with the given hidden widths (if known) → `outputs`.
fn mlp(
    name: [&'static str; 6],
    layers: &[QuantLinear<'_>],
    inputs: u32,
    hidden: Option<&[u32]>,
    outputs: u32,
) -> Result<(), FormatError> {
    let [f_count, f_cols, f_rows, f_weights, f_scales, f_bias] = name;
    if layers.is_empty() {
        return Err(invalid(f_count, 0, Problem::Empty));
    }
    if let Some(h) = hidden {
        dim(f_count, 0, h.len() as u64 + 1, layers.len() as u64)?;
    }
    let mut prev = inputs;
    let last = layers.len() - 1;
    for (i, layer) in layers.iter().enumerate() {
        dim(f_cols, i, prev as u64, layer.cols as u64)?;
        let expected_rows = if i == last {
            Some(outputs)
        } else {
            hidden.and_then(|h| h.get(i).copied())
        };
        if let Some(rows) = expected_rows {
            dim(f_rows, i, rows as u64, layer.rows as u64)?;
        }
        width(f_rows, i, layer.rows, MAX_WIDTH)?;
        let rows = layer.rows as u64;
        len(
            f_weights,
            i,
            rows * layer.cols as u64,
            layer.weights.as_bytes().len(),
        )?;
        len(f_scales, i, rows * 4, layer.scales.as_bytes().len())?;
        len(f_bias, i, rows * 4, layer.bias.as_bytes().len())?;
        finite(f_scales, i, layer.scales)?;
        finite(f_bias, i, layer.bias)?;
        prev = layer.rows;
    }
    Ok(())
}

/// Checks every cross-field constraint of FORMAT.md.
pub(crate) fn validate(m: &ModelFile<'_>) -> Result<(), FormatError> {
    let c = &m.config;
    if c.dataset.is_empty() {
        return Err(invalid("config.dataset", 0, Problem::Empty));
    }
    match c.input {
        InputKind::Image {
            width: w,
            height: h,
        } => {
            // ≤ 4096 × 4096 pixels × 16 outputs stays below 2³² on 32-bit targets.
            width("config.input.width", 0, w, MAX_IMAGE_SIDE)?;
            width("config.input.height", 0, h, MAX_IMAGE_SIDE)?;
        }
        InputKind::PointCloud { udf_clamp, sampler } => {
            positive("config.input.udf_clamp", udf_clamp)?;
            for (i, &sigma) in sampler.sigmas.iter().enumerate() {
                positive_at("config.input.sampler.sigmas", i, sigma)?;
            }
            share(
                "config.input.sampler.uniform_fraction",
                sampler.uniform_fraction,
            )?;
            positive("config.input.sampler.bound", sampler.bound)?;
        }
    }
    dim(
        "config.in_dim",
        0,
        c.input.coord_dim() as u64,
        c.in_dim as u64,
    )?;
    width("config.out_dim", 0, c.out_dim, MAX_OUT_DIM)?;
    width("config.latent_dim", 0, c.latent_dim, MAX_WIDTH)?;
    for (i, &w) in c.hyper_hidden.iter().enumerate() {
        width("config.hyper_hidden", i, w, MAX_WIDTH)?;
    }
    for (i, &w) in c.siren_hidden.iter().enumerate() {
        width("config.siren_hidden", i, w, MAX_WIDTH)?;
    }
    positive("config.omega0", c.omega0)?;
    width("config.class_count", 0, c.class_count, MAX_CLASSES)?;
    let names = c.class_names.split('\n').count() as u64;
    dim("config.class_names", 0, c.class_count as u64, names)?;
    if let Some(i) = c.class_names.split('\n').position(str::is_empty) {
        return Err(invalid("config.class_names", i, Problem::Empty));
    }
    // `config.hyper_activation` is an enum: an unknown variant index fails to decode.
    let fit = &c.fit;
    if fit.steps == 0 {
        return Err(invalid("config.fit.steps", 0, Problem::Empty));
    }
    positive("config.fit.lr", fit.lr)?;
    decay("config.fit.beta1", fit.beta1)?;
    decay("config.fit.beta2", fit.beta2)?;
    positive("config.fit.eps", fit.eps)?;
    non_negative("config.fit.latent_l2", fit.latent_l2)?;
    non_negative("config.fit.init_std", fit.init_std)?;

    let params = c.siren_param_count();
    if params > MAX_WIDTH as usize * 64 {
        return Err(invalid(
            "config.siren_hidden",
            0,
            Problem::TooLarge {
                found: params as u64,
                max: MAX_WIDTH as u64 * 64,
            },
        ));
    }
    mlp(
        [
            "hypernet.layers",
            "hypernet.cols",
            "hypernet.rows",
            "hypernet.weights",
            "hypernet.scales",
            "hypernet.bias",
        ],
        &m.hypernet,
        c.latent_dim,
        Some(&c.hyper_hidden),
        params as u32,
    )?;
    if let Some(a) = &m.linear_path {
        layer(
            [
                "linear_path.cols",
                "linear_path.rows",
                "linear_path.weights",
                "linear_path.scales",
                "linear_path.bias",
            ],
            0,
            a,
            params as u32,
            c.latent_dim,
        )?;
    }

    let cl = &m.classifier;
    len(
        "classifier.mean",
        0,
        c.latent_dim as u64 * 4,
        cl.mean.as_bytes().len(),
    )?;
    len(
        "classifier.inv_std",
        0,
        c.latent_dim as u64 * 4,
        cl.inv_std.as_bytes().len(),
    )?;
    finite("classifier.mean", 0, cl.mean)?;
    finite("classifier.inv_std", 0, cl.inv_std)?;
    mlp(
        [
            "classifier.layers",
            "classifier.cols",
            "classifier.rows",
            "classifier.weights",
            "classifier.scales",
            "classifier.bias",
        ],
        &cl.layers,
        c.latent_dim,
        None,
        c.class_count,
    )?;

    let s = &m.latents;
    let count = s.count as u64;
    len(
        "latents.codes",
        0,
        count * c.latent_dim as u64,
        s.codes.as_bytes().len(),
    )?;
    len("latents.scales", 0, count * 4, s.scales.as_bytes().len())?;
    len("latents.labels", 0, count, s.labels.len())?;
    len(
        "latents.dataset_indices",
        0,
        count * 4,
        s.dataset_indices.as_bytes().len(),
    )?;
    finite("latents.scales", 0, s.scales)?;
    if let Some(i) = s.labels.iter().position(|&l| l as u32 >= c.class_count) {
        let found = s.labels.get(i).copied().unwrap_or(0) as u64;
        return Err(invalid(
            "latents.labels",
            i,
            Problem::TooLarge {
                found,
                max: c.class_count as u64 - 1,
            },
        ));
    }

    for (i, g) in m.golden.iter().enumerate() {
        len(
            "golden.codes",
            i,
            c.latent_dim as u64,
            g.codes.as_bytes().len(),
        )?;
        if !g.scale.is_finite() {
            return Err(invalid("golden.scale", i, Problem::NonFinite));
        }
        let coord_bytes = g.coords.as_bytes().len() as u64;
        let per_point = c.in_dim as u64 * 4;
        if !coord_bytes.is_multiple_of(per_point) {
            return Err(invalid(
                "golden.coords",
                i,
                Problem::Length {
                    expected: coord_bytes / per_point * per_point,
                    found: coord_bytes,
                },
            ));
        }
        let points = coord_bytes / per_point;
        width("golden.points", i, points as u32, MAX_WIDTH)?;
        len(
            "golden.outputs",
            i,
            points * c.out_dim as u64 * 4,
            g.outputs.as_bytes().len(),
        )?;
        len(
            "golden.logits",
            i,
            c.class_count as u64 * 4,
            g.logits.as_bytes().len(),
        )?;
        if g.class >= c.class_count {
            return Err(invalid(
                "golden.class",
                i,
                Problem::TooLarge {
                    found: g.class as u64,
                    max: c.class_count as u64 - 1,
                },
            ));
        }
    }
    Ok(())
}
