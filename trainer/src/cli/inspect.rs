//! `hyperinr inspect`: a model file's config, provenance, sizes and CRC status.

use anyhow::{bail, Context, Result};
use hyperinr_runtime::Model;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct InspectArgs {
    pub model: PathBuf,
}

pub fn inspect(a: InspectArgs) -> Result<()> {
    let bytes = crate::export::read_model_file(&a.model)?;
    let header = hyperinr_shared::Header::parse(&bytes);
    println!("file: {} ({} bytes)", a.model.display(), bytes.len());
    match header {
        Ok((h, _)) => println!(
            "header: version {}, payload {} bytes, CRC-32 {:#010x} OK",
            h.version, h.payload_len, h.payload_crc
        ),
        Err(e) => bail!("{}: {e}", a.model.display()),
    }
    let model = Model::from_bytes(&bytes).with_context(|| a.model.display().to_string())?;
    let f = model.file();
    let c = &f.config;
    println!("dataset: {} ({})", c.dataset, describe_input(&c.input));
    println!(
        "latent {} → hypernet {:?} → {} SIREN params; SIREN {}-{:?}-{}, ω0 {}",
        c.latent_dim,
        c.hyper_hidden,
        model.sizes().weights,
        c.in_dim,
        c.siren_hidden,
        c.out_dim,
        c.omega0
    );
    println!(
        "φ: hidden activation {}, linear path {}",
        c.hyper_activation.name(),
        match &f.linear_path {
            Some(l) => format!("{} × {} (own bias)", l.rows, l.cols),
            None => "none".into(),
        }
    );
    let fit = &c.fit;
    println!(
        "stored latents fitted with: {} Adam steps, lr {}, β1 {}, β2 {}, ε {:e}, latent L2 {:e}, initial std {}",
        fit.steps, fit.lr, fit.beta1, fit.beta2, fit.eps, fit.latent_l2, fit.init_std
    );
    println!(
        "classes ({}): {}",
        c.class_count,
        c.class_names.replace('\n', ", ")
    );
    println!(
        "classifier: {} layers {:?}",
        f.classifier.layers.len(),
        f.classifier
            .layers
            .iter()
            .map(|l| (l.cols, l.rows))
            .collect::<Vec<_>>()
    );
    println!(
        "latents: {} of split {:?}",
        f.latents.count, f.latents.split
    );
    println!("golden vectors: {}", f.golden.len());
    println!(
        "provenance: commit {}, seed {}, data sha256 {}",
        f.provenance.source_commit, f.provenance.seed, f.provenance.data_hash
    );
    println!(
        "training config: {}",
        f.provenance.training_config.replace('\n', " ")
    );
    let s = model.sizes();
    println!(
        "buffers (f32): latent {}, weights {}, scratch {}, logits {}; MACs: decode {}, classify {}, SIREN per point {}",
        s.latent, s.weights, s.scratch, s.logits, model.decode_macs(), model.classify_macs(), model.siren_macs_per_point()
    );
    let mut ws = hyperinr_runtime::WorkspaceBuf::new(&model);
    match model.self_test(&mut ws.workspace()) {
        Ok(n) => println!("self-test: {n} golden vectors reproduce bit for bit"),
        Err(e) => bail!("{}: self-test failed: {e}", a.model.display()),
    }
    Ok(())
}

/// What the SIREN's coordinates are, and for a shape how its queries are drawn.
fn describe_input(input: &hyperinr_shared::InputKind) -> String {
    match input {
        hyperinr_shared::InputKind::Image { width, height } => format!("image {width}×{height}"),
        hyperinr_shared::InputKind::PointCloud { udf_clamp, sampler } => {
            let [s0, s1, s2] = sampler.sigmas;
            format!(
                "point cloud, UDF clamped at {udf_clamp}; queries: σ {s0} / {s1} / {s2} near the \
                 surface, {} % uniform in ±{}{}",
                sampler.uniform_fraction * 100.0,
                sampler.bound,
                if *sampler == hyperinr_shared::QuerySampler::DEFAULT {
                    " (the default sampler)"
                } else {
                    ""
                }
            )
        }
    }
}
