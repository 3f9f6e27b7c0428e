//! `hyperinr demo`: README's main job, the whole pipeline on the in-repo subset.

use super::*;
use crate::backend::siren_op::SirenOp;
use crate::backend::BackendKind;
use crate::data::samples::DatasetKind;
use anyhow::Result;
use hyperinr_data::Split;
use std::path::PathBuf;

#[derive(clap::Args, Clone)]
pub struct DemoArgs {
    /// Data folder (default: the subset shipped in the repo).
    #[arg(long, default_value = "data/fashion-mnist-subset")]
    pub data: PathBuf,
    #[arg(long, default_value = "runs/demo")]
    pub run: PathBuf,
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Adam steps per fitted latent (the FashionMNIST recipe's 100, docs/recipe.md).
    #[arg(long, default_value_t = 100)]
    pub fit_steps: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

/// The main job: the shipped FashionMNIST recipe (docs/recipe.md: SiLU φ with a linear
/// path, 100 fitting steps, classifier input noise 0.2) at the in-repo subset's scale.
pub fn demo(a: DemoArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let run = a.run.clone();
    let say = |what: &str| eprintln!("[demo {:>6.1}s] {what}", started.elapsed().as_secs_f64());
    say("training on the in-repo subset");
    train::train(TrainArgs {
        dataset: DatasetKind::FashionMnist,
        data: Some(a.data.clone()),
        run: run.clone(),
        resume: false,
        backend: a.backend,
        epochs: a.epochs,
        batch: 64,
        lr_hyper: None,
        lr_latent: None,
        latent_dim: 64,
        hyper_hidden: vec![256, 256],
        siren_hidden: vec![32, 32],
        queries: 2048,
        udf_sigmas: vec![],
        udf_uniform_fraction: None,
        udf_clamp: None,
        latent_l2: 1e-4,
        latent_init_std: 0.01,
        omega0: 30.0,
        last_layer_scale: 0.1,
        pixels: None,
        seed: 42,
        limit: 0,
        siren_op: SirenOp::Fused,
        hyper_activation: crate::model::HyperActivation::Silu,
        linear_path: true,
        latent_steps: None,
        aux_class_weight: 0.0,
        checkpoint_every: 60.0,
        with_val: false,
        quiet: true,
    })?;
    for split in [Split::Train, Split::Val, Split::Test] {
        say(&format!("fitting {split:?} latents (φ frozen)"));
        fit::fit(FitArgs {
            run: run.clone(),
            data: Some(a.data.clone()),
            split,
            limit: 0,
            steps: a.fit_steps,
            lr: 2e-2,
            batch: 1024,
            backend: a.backend,
            siren_op: SirenOp::Fused,
            hflip: false,
            augment: 0,
            augment_rotate: 180.0,
            augment_scale: 0.1,
            augment_jitter: 0.01,
            augment_seed: 1,
            quiet: true,
        })?;
    }
    say("training the classifier on re-fitted training latents");
    classifier::classifier(ClassifierArgs {
        run: run.clone(),
        train_latents: "train".into(),
        epochs: 60,
        dropout: 0.3,
        input_noise: 0.2,
        seed: 7,
        hidden: vec![512, 512],
        class_balance: false,
        members: 1,
        folds: 0,
        fold_seed: 1,
        backend: a.backend,
    })?;
    say("exporting int8 model with the test latents");
    let model = run.join("model.hinr");
    export::export(ExportArgs {
        run: run.clone(),
        latents: "test".into(),
        out: model.clone(),
    })?;
    say("evaluating stored latents with the runtime");
    let mut e = EvalArgs {
        model: model.clone(),
        dataset: DatasetKind::FashionMnist,
        data: Some(a.data.clone()),
        split: Split::Test,
        limit: 0,
        fit: false,
        // The file records the fit above: `--fit` repeats it.
        fit_steps: None,
        fit_lr: None,
        engine: crate::eval::runtime_fit::FitEngine::Burn,
        eps: 0.02,
        chamfer_limit: 0,
        json: true,
        backend: a.backend,
    };
    eval::eval(e.clone())?;
    say("evaluating freshly fitted latents");
    e.fit = true;
    eval::eval(e)?;
    say("rendering");
    render::render(RenderArgs {
        model: model.clone(),
        data: Some(a.data.clone()),
        out: run.join("reconstructions.png"),
        count: Some(24),
    })?;
    inspect::inspect(InspectArgs { model })?;
    say("done");
    Ok(())
}
