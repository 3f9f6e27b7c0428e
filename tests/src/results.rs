//! The firmware's results file (`hyperinr-results.bin`) as owned host values.
//!
//! The layout has one definition, `hyperinr_shared::results` (spec: shared/FORMAT.md §6);
//! this module only collects its zero-copy records into owned vectors the tests compare,
//! and converts the measured ticks into instructions.

use hyperinr_shared::results::{decode, Record};
pub use hyperinr_shared::results::{RenderKind, ResultsError, Stage};
use hyperinr_shared::U32Slice;

/// One golden vector's outputs as the firmware computed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoldenRun {
    /// Index in the file's golden vectors.
    pub index: u32,
    /// CRC-32 of the decoded parameters.
    pub weights_crc: u32,
    /// Predicted class.
    pub class: u32,
    /// SIREN outputs at the golden coordinates (bits).
    pub outputs: Vec<u32>,
    /// Logits (bits).
    pub logits: Vec<u32>,
}

/// Rendered outputs of one latent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Render {
    /// Stored latent index.
    pub latent: u32,
    /// Image pixels row by row, or the point-cloud grid.
    pub kind: RenderKind,
    /// Points evaluated.
    pub points: u32,
    /// Outputs per point.
    pub out_dim: u32,
    /// Output bits, `points × out_dim`.
    pub values: Vec<u32>,
}

/// One observation fitted on the device (`FITD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FittedRun {
    /// Index in the observations file.
    pub observation: u32,
    /// Its dataset index.
    pub dataset_index: u32,
    /// Its label.
    pub label: u32,
    /// The fitted latent's class.
    pub class: u32,
    /// Adam steps.
    pub steps: u32,
    /// Points of the loss.
    pub points: u32,
    /// The last step's mean squared error (bits).
    pub mse: u32,
    /// The fitted latent (bits).
    pub latent: Vec<u32>,
    /// Its logits (bits).
    pub logits: Vec<u32>,
}

/// A measured interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticks {
    /// `CALB` (calibration loop), `NULL` (empty interval), `SELF`, `SINE`, `DECO`, `CLAS`,
    /// `REND`.
    pub name: String,
    /// SysTick ticks.
    pub ticks: u64,
    /// Instructions of the calibration loop, or the MACs of the measured work.
    pub work: u64,
}

/// Everything a firmware run wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Results {
    /// `(blob length, CRC-32 of the blob, memory map: 0 mps2-an386, 1 stm32f405)`.
    pub info: Option<(u32, u32, u32)>,
    /// Errors with their stage and the `Debug` text of the runtime error.
    pub errors: Vec<(Stage, String)>,
    /// Golden vectors the self-test checked.
    pub self_test: Option<u32>,
    /// Outputs of each golden vector.
    pub golden: Vec<GoldenRun>,
    /// Class and logit bits of every stored latent, in order.
    pub classes: Vec<(u32, Vec<u32>)>,
    /// `(correct, count)` against the stored labels.
    pub accuracy: Option<(u32, u32)>,
    /// Decoded SIREN parameters (bits) by stored latent index.
    pub weights: Vec<(u32, Vec<u32>)>,
    /// The rendered latent.
    pub render: Option<Render>,
    /// Measured intervals.
    pub ticks: Vec<Ticks>,
    /// `(used, size)` of the stack in bytes.
    pub stack: Option<(u32, u32)>,
    /// The exit status the firmware was about to return.
    pub done: Option<u32>,
    /// Observations fitted on the device, in order.
    pub fitted: Vec<FittedRun>,
    /// `(correct, count)` of the fitted observations.
    pub fit_accuracy: Option<(u32, u32)>,
}

fn owned(words: U32Slice<'_>) -> Vec<u32> {
    words.iter().collect()
}

impl Results {
    /// Decodes a whole results file (`hyperinr_shared::results::decode`).
    pub fn parse(bytes: &[u8]) -> Result<Results, ResultsError> {
        let mut r = Results::default();
        for record in decode(bytes)? {
            match record? {
                Record::Info {
                    blob_len,
                    blob_crc,
                    memory_map,
                } => r.info = Some((blob_len, blob_crc, memory_map)),
                Record::Failure { stage, text } => r
                    .errors
                    .push((stage, String::from_utf8_lossy(text).into_owned())),
                Record::SelfTest { checked } => r.self_test = Some(checked),
                Record::Golden {
                    index,
                    weights_crc,
                    class,
                    outputs,
                    logits,
                } => r.golden.push(GoldenRun {
                    index,
                    weights_crc,
                    class,
                    outputs: owned(outputs),
                    logits: owned(logits),
                }),
                Record::Classes { entries, .. } => r
                    .classes
                    .extend(entries.map(|(class, logits)| (class, owned(logits)))),
                Record::Accuracy { correct, count } => r.accuracy = Some((correct, count)),
                Record::Weights { latent, values } => r.weights.push((latent, owned(values))),
                Record::Render {
                    latent,
                    kind,
                    points,
                    out_dim,
                    values,
                } => {
                    r.render = Some(Render {
                        latent,
                        kind,
                        points,
                        out_dim,
                        values: owned(values),
                    })
                }
                Record::Tick { name, ticks, work } => r.ticks.push(Ticks {
                    name: String::from_utf8_lossy(&name).into_owned(),
                    ticks,
                    work: u64::from(work),
                }),
                Record::Stack { used, size } => r.stack = Some((used, size)),
                Record::Done { status } => r.done = Some(status),
                Record::Fitted(f) => r.fitted.push(FittedRun {
                    observation: f.observation,
                    dataset_index: f.dataset_index,
                    label: f.label,
                    class: f.class,
                    steps: f.steps,
                    points: f.points,
                    mse: f.mse,
                    latent: owned(f.latent),
                    logits: owned(f.logits),
                }),
                Record::FitAccuracy { correct, count } => r.fit_accuracy = Some((correct, count)),
            }
        }
        Ok(r)
    }

    /// The measured interval called `name`.
    pub fn tick(&self, name: &str) -> Option<&Ticks> {
        self.ticks.iter().find(|t| t.name == name)
    }

    /// Instructions per SysTick tick, from the calibration loop (meaningful when QEMU ran
    /// with `-icount`).
    pub fn instructions_per_tick(&self) -> Option<f64> {
        let c = self.tick("CALB")?;
        (c.ticks > 0).then(|| c.work as f64 / c.ticks as f64)
    }

    /// Instructions executed in interval `name`, net of the empty interval's overhead.
    pub fn instructions(&self, name: &str) -> Option<u64> {
        Some(self.instructions_of(self.tick(name)?))
    }

    /// Every interval called `name` (e.g. one `FIT ` per fitted observation), in order.
    pub fn ticks_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Ticks> + 's {
        self.ticks.iter().filter(move |t| t.name == name)
    }

    /// Instructions of one measured interval, net of the empty interval's overhead (0
    /// without a calibration).
    pub fn instructions_of(&self, t: &Ticks) -> u64 {
        let per_tick = self.instructions_per_tick().unwrap_or(0.0);
        let overhead = self.tick("NULL").map_or(0, |n| n.ticks);
        (t.ticks.saturating_sub(overhead) as f64 * per_tick).round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperinr_shared::results::Encoder;

    /// What the tests read: owned bits, the latents of every `CLAS` entry in order, ticks
    /// turned into instructions.
    #[test]
    fn collects_records_and_converts_ticks() {
        let mut enc = Encoder::new(Vec::new());
        enc.classes_start(2, 1);
        enc.class(5, &[50.0]);
        enc.class(6, &[-0.0]);
        enc.tick(*b"CALB", 50_000, 2_000_000);
        enc.tick(*b"NULL", 2, 0);
        enc.tick(*b"DECO", 1002, 385_280);
        enc.failure(Stage::Inference, b"LatentIndex { index: 3, count: 2 }");
        let (file, status) = enc.finish();
        assert_eq!(status, Ok(()));
        let r = Results::parse(&file).unwrap();
        assert_eq!(
            r.classes,
            vec![(5, vec![50.0f32.to_bits()]), (6, vec![0x8000_0000])]
        );
        assert_eq!(r.instructions_per_tick(), Some(40.0));
        assert_eq!(r.instructions("DECO"), Some(40_000));
        assert_eq!(r.tick("DECO").map(|t| t.work), Some(385_280));
        assert_eq!(r.instructions("REND"), None);
        assert_eq!(
            r.errors,
            vec![(
                Stage::Inference,
                "LatentIndex { index: 3, count: 2 }".into()
            )]
        );
        assert_eq!((r.done, r.render), (None, None));
    }

    #[test]
    fn a_damaged_file_is_a_typed_error() {
        let mut file = Encoder::new(Vec::new()).finish().0;
        file.extend_from_slice(b"WHAT\0\0\0\0");
        assert!(matches!(
            Results::parse(&file),
            Err(ResultsError::UnknownTag { offset: 8, .. })
        ));
        assert!(matches!(
            Results::parse(b"HIRX\x01\0\0\0"),
            Err(ResultsError::BadMagic { .. })
        ));
    }
}
