//! The boot check (`hyperinr_runtime::check`): its steps, their order, what each reports,
//! what stops it, and the results file it becomes.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use hyperinr_runtime::check::{self, Buffers, Event, Outcome, Report, Timed};
use hyperinr_runtime::{Buffer, Error, Model, WorkspaceBuf};
use hyperinr_shared::example::ExampleModel;
use hyperinr_shared::results::{decode, Encoder, Record, RenderKind, Stage, Tag};
use hyperinr_shared::{InputKind, ModelFile};

mod common;
use common::with_golden;

/// Every event and timed step, as its `Debug` text (owned, and comparable with events
/// built from what the entry points compute).
#[derive(Default)]
struct Recorder(Vec<String>);

impl Report for Recorder {
    fn event(&mut self, event: Event<'_>) {
        self.0.push(format!("{event:?}"));
    }

    fn measure<T>(&mut self, step: Timed, work: usize, f: impl FnOnce() -> T) -> T {
        self.0.push(format!("measure {step:?} {work}"));
        f()
    }
}

fn buffers_for<'b>(
    model: &Model<'_>,
    ws: &'b mut WorkspaceBuf,
    render: &'b mut Vec<f32>,
    coords: &'b mut Vec<f32>,
) -> Buffers<'b> {
    render.resize(check::render_len(model), 0.0);
    coords.resize(check::coords_len(model), 0.0);
    Buffers {
        ws: ws.workspace(),
        render,
        coords,
    }
}

fn run(model: &Model<'_>, report: &mut impl Report) -> Result<Outcome, Error> {
    let mut ws = WorkspaceBuf::new(model);
    let (mut render, mut coords) = (Vec::new(), Vec::new());
    let mut buffers = buffers_for(model, &mut ws, &mut render, &mut coords);
    check::run(model, &mut buffers, report)
}

#[test]
fn the_steps_come_in_order_with_what_the_entry_points_compute() {
    let bytes = with_golden();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut seen = Recorder::default();
    let outcome = run(&model, &mut seen);
    let expected_outcome = Outcome {
        self_test: Ok(2),
        correct: 2,
        count: 2,
    };
    assert_eq!(outcome, Ok(expected_outcome));

    // The same events, from the entry points called directly.
    let s = model.sizes();
    let (mut z, mut w, mut logits) = (vec![0.0; s.latent], vec![0.0; s.weights], vec![0.0; 2]);
    let mut scratch = vec![0.0; s.scratch];
    let mut expected = vec![
        "measure SelfTest 0".to_string(),
        format!("{:?}", Event::SelfTest(Ok(2))),
    ];
    let mut push = |e: Event<'_>| expected.push(format!("{e:?}"));
    for (index, g) in model.file().golden.iter().enumerate() {
        let logits: Vec<f32> = g.logits.iter().collect();
        push(Event::GoldenStart {
            index,
            weights_crc: g.weights_crc,
            class: g.class as usize,
            outputs: 3,
            logits: 2,
        });
        for y in g.outputs.iter() {
            push(Event::GoldenOutputs(&[y]));
        }
        push(Event::GoldenLogits(&logits));
    }
    push(Event::ClassesStart {
        count: 2,
        logits: 2,
    });
    for latent in 0..2 {
        let label = model.stored_latent(latent, &mut z).unwrap().label;
        let class = model.classify(&z, &mut logits, &mut scratch).unwrap();
        push(Event::Classified {
            latent,
            class,
            label,
            logits: &logits,
        });
    }
    push(Event::Accuracy {
        correct: 2,
        count: 2,
    });
    for latent in 0..2 {
        model.stored_latent(latent, &mut z).unwrap();
        model.decode_weights(&z, &mut w, &mut scratch).unwrap();
        push(Event::Decoded {
            latent,
            weights: &w,
        });
    }
    model.stored_latent(0, &mut z).unwrap();
    model.decode_weights(&z, &mut w, &mut scratch).unwrap();
    let mut pixels = vec![0.0; 4];
    model.render_image(&w, &mut pixels, &mut scratch).unwrap();
    let rendered = Event::Rendered {
        latent: 0,
        kind: RenderKind::Image,
        points: 4,
        out_dim: 1,
        values: &pixels,
    };
    expected.extend([
        format!("measure Decode {}", model.decode_macs()),
        format!("measure Classify {}", model.classify_macs()),
        format!("measure Render {}", 4 * model.siren_macs_per_point()),
        format!("{rendered:?}"),
    ]);
    assert_eq!(seen.0, expected);
}

#[test]
fn the_events_become_the_records_of_the_results_file() {
    let bytes = with_golden();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut enc = Encoder::new(Vec::new());
    run(&model, &mut enc).unwrap();
    let (file, status) = enc.finish();
    assert_eq!(status, Ok(()));
    let records: Vec<Record<'_>> = decode(&file).unwrap().map(Result::unwrap).collect();
    let tags: Vec<Tag> = records.iter().map(Record::tag).collect();
    use Tag::*;
    assert_eq!(
        tags,
        [SelfTest, Golden, Golden, Classes, Accuracy, Weights, Weights, Render]
    );
    let Record::Golden { outputs, .. } = &records[1] else {
        panic!()
    };
    let stored: Vec<u32> = model.file().golden[0]
        .outputs
        .iter()
        .map(f32::to_bits)
        .collect();
    assert_eq!(outputs.iter().collect::<Vec<_>>(), stored);
}

#[test]
fn a_golden_mismatch_is_reported_and_the_rest_still_runs() {
    let good = with_golden();
    let mut file = ModelFile::parse(&good).unwrap();
    file.golden[1].weights_crc ^= 1;
    let bytes = file.to_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut seen = Recorder::default();
    let outcome = run(&model, &mut seen).unwrap();
    let Err(e @ Error::GoldenMismatch { vector: 1, .. }) = outcome.self_test else {
        panic!("{:?}", outcome.self_test);
    };
    assert_eq!(seen.0[1], format!("{:?}", Event::SelfTest(Err(e))));
    assert!(seen.0.last().unwrap().starts_with("Rendered"));

    // In the results file: `ERR ` with stage 2 and the error's `Debug` text.
    let mut enc = Encoder::new(Vec::new());
    run(&model, &mut enc).unwrap();
    let (file, _) = enc.finish();
    let first = decode(&file).unwrap().next().unwrap().unwrap();
    let text = format!("{e:?}");
    assert_eq!(
        first,
        Record::Failure {
            stage: Stage::SelfTest,
            text: text.as_bytes()
        }
    );
}

#[test]
fn without_stored_latents_the_sequence_ends_after_the_accuracy() {
    let mut example = ExampleModel::new();
    example.codes.clear();
    example.scales.clear();
    example.labels.clear();
    example.indices.clear();
    example.refresh();
    let bytes = example.file().to_bytes().unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut seen = Recorder::default();
    assert_eq!(run(&model, &mut seen).unwrap().count, 0);
    let accuracy = Event::Accuracy {
        correct: 0,
        count: 0,
    };
    assert_eq!(seen.0.last(), Some(&format!("{accuracy:?}")));
}

#[test]
fn wrong_buffers_stop_it_before_the_first_step() {
    let bytes = with_golden();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut ws = WorkspaceBuf::new(&model);
    let (mut render, mut coords) = (Vec::new(), Vec::new());
    let mut buffers = buffers_for(&model, &mut ws, &mut render, &mut coords);
    let mut longer = vec![0.0; 5];
    buffers.render = &mut longer;
    let mut seen = Recorder::default();
    let r = check::run(&model, &mut buffers, &mut seen);
    let wrong = Error::BufferSize {
        buffer: Buffer::Outputs,
        needed: 4,
        got: 5,
    };
    assert_eq!(r, Err(wrong));
    assert!(seen.0.is_empty());
}

#[test]
fn point_cloud_renders_are_the_grid_of_cell_centres() {
    let input = InputKind::PointCloud {
        udf_clamp: 0.1,
        sampler: hyperinr_shared::QuerySampler::DEFAULT,
    };
    assert_eq!(check::render_kind(&input), RenderKind::PointGrid);
    let n = check::render_points(&input);
    assert_eq!(n, check::CLOUD_GRID.pow(3) as usize);
    let mut grid = vec![0.0; 3 * n];
    assert_eq!(check::cloud_grid(&mut grid), n);
    assert_eq!(
        &grid[..6],
        &[-0.875, -0.875, -0.875, -0.625, -0.875, -0.875]
    );
    assert_eq!(&grid[3 * 8..3 * 8 + 3], &[-0.875, -0.625, -0.875]);
    assert_eq!(&grid[3 * n - 3..], &[0.875, 0.875, 0.875]);
}
