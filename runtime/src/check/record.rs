//! The boot check's events as records of the results file (FORMAT.md §6): the one mapping,
//! used by the firmware (through its own report, which adds log lines and timings) and by
//! the host tests, which replay the check into a `Vec<u8>` and compare the two files.

use super::{Event, Report};
use hyperinr_shared::results::{Encoder, Sink, Stage};

/// Each event becomes its record: `SELF` (or `ERR ` with stage 2 and the error's `Debug`
/// text), `GVEC`, `CLAS`, `ACCU`, `WGTS`, `RNDR`, `FITD`, `FACC`. Counts and indices are bounded by the
/// model's validation, so the `u32` fields hold them.
impl<S: Sink> Report for Encoder<S> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::SelfTest(Ok(checked)) => self.self_test(checked as u32),
            Event::SelfTest(Err(e)) => self.failure_fmt(Stage::SelfTest, format_args!("{e:?}")),
            Event::GoldenStart {
                index,
                weights_crc,
                class,
                outputs,
                logits,
            } => self.golden_start(index as u32, weights_crc, class as u32, outputs, logits),
            Event::GoldenOutputs(values) => self.golden_outputs(values),
            Event::GoldenLogits(logits) => self.golden_logits(logits),
            Event::ClassesStart { count, logits } => self.classes_start(count, logits),
            Event::Classified { class, logits, .. } => self.class(class as u32, logits),
            Event::Accuracy { correct, count } => self.accuracy(correct as u32, count as u32),
            Event::Decoded { latent, weights } => self.weights(latent as u32, weights),
            Event::Rendered {
                latent,
                kind,
                points,
                out_dim,
                values,
            } => self.render(latent as u32, kind, points, out_dim, values),
            Event::Fitted {
                observation,
                dataset_index,
                label,
                class,
                outcome,
                latent,
                logits,
            } => self.fitted(
                observation as u32,
                dataset_index,
                u32::from(label),
                class as u32,
                (outcome.steps, outcome.points as u32, outcome.mse),
                latent,
                logits,
            ),
            Event::FitAccuracy { correct, count } => {
                self.fit_accuracy(correct as u32, count as u32)
            }
        }
    }
}
