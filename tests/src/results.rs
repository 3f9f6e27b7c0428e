//! Reader of the firmware's results file (`hyperinr-results.bin`).
//!
//! Layout (firmware/README.md, "Results file"): magic `HIRS`, version `u32` = 1, then
//! records `tag: [u8; 4]`, `len: u32`, `len` payload bytes; integers little-endian, floats
//! as their `f32::to_bits`, little-endian.

use std::fmt;

/// Magic at the start of the file.
pub const MAGIC: [u8; 4] = *b"HIRS";
/// The layout version this reader understands.
pub const VERSION: u32 = 1;

/// Where the firmware raised an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `Model::from_bytes` (exit status 1).
    Parse,
    /// `Model::self_test` (exit status 2).
    SelfTest,
    /// A later inference call (exit status 3).
    Inference,
    /// A stage number this reader does not know.
    Other(u32),
}

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
    /// 0: image (pixels row by row), 1: point-cloud grid.
    pub kind: u32,
    /// Points evaluated.
    pub points: u32,
    /// Outputs per point.
    pub out_dim: u32,
    /// Output bits, `points × out_dim`.
    pub values: Vec<u32>,
}

/// A measured interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticks {
    /// `CALB` (calibration loop), `NULL` (empty interval), `SELF`, `DECO`, `CLAS`, `REND`.
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
}

/// Why a results file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "results file: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

struct Cursor<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.bytes.len() < n {
            return Err(ParseError(format!(
                "record {} ends early ({} bytes left, {n} needed)",
                self.what,
                self.bytes.len()
            )));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn words(&mut self, n: usize) -> Result<Vec<u32>, ParseError> {
        (0..n).map(|_| self.u32()).collect()
    }
    fn end(&self) -> Result<(), ParseError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(ParseError(format!(
                "record {} has {} unexpected trailing bytes",
                self.what,
                self.bytes.len()
            )))
        }
    }
}

impl Results {
    /// Parses a whole results file.
    pub fn parse(bytes: &[u8]) -> Result<Results, ParseError> {
        let mut top = Cursor {
            bytes,
            what: "header",
        };
        if top.take(4)? != MAGIC {
            return Err(ParseError("bad magic".into()));
        }
        let version = top.u32()?;
        if version != VERSION {
            return Err(ParseError(format!("version {version}, expected {VERSION}")));
        }
        let mut r = Results::default();
        while !top.bytes.is_empty() {
            top.what = "tag";
            let tag: [u8; 4] = top.take(4)?.try_into().unwrap_or([0; 4]);
            let len = top.u32()? as usize;
            let payload = top.take(len)?;
            let what = match &tag {
                b"INFO" => "INFO",
                b"ERR " => "ERR",
                b"SELF" => "SELF",
                b"GVEC" => "GVEC",
                b"CLAS" => "CLAS",
                b"ACCU" => "ACCU",
                b"WGTS" => "WGTS",
                b"RNDR" => "RNDR",
                b"TICK" => "TICK",
                b"STAK" => "STAK",
                b"DONE" => "DONE",
                _ => {
                    return Err(ParseError(format!(
                        "unknown record tag {:?}",
                        String::from_utf8_lossy(&tag)
                    )))
                }
            };
            let mut c = Cursor {
                bytes: payload,
                what,
            };
            match what {
                "INFO" => r.info = Some((c.u32()?, c.u32()?, c.u32()?)),
                "ERR" => {
                    let stage = match c.u32()? {
                        1 => Stage::Parse,
                        2 => Stage::SelfTest,
                        3 => Stage::Inference,
                        n => Stage::Other(n),
                    };
                    let text = String::from_utf8_lossy(c.take(c.bytes.len())?).into_owned();
                    r.errors.push((stage, text));
                }
                "SELF" => r.self_test = Some(c.u32()?),
                "GVEC" => {
                    let (index, weights_crc, class) = (c.u32()?, c.u32()?, c.u32()?);
                    let n = c.u32()? as usize;
                    let outputs = c.words(n)?;
                    let n = c.u32()? as usize;
                    let logits = c.words(n)?;
                    r.golden.push(GoldenRun {
                        index,
                        weights_crc,
                        class,
                        outputs,
                        logits,
                    });
                }
                "CLAS" => {
                    let count = c.u32()? as usize;
                    let per = c.u32()? as usize;
                    for _ in 0..count {
                        let class = c.u32()?;
                        r.classes.push((class, c.words(per)?));
                    }
                }
                "ACCU" => r.accuracy = Some((c.u32()?, c.u32()?)),
                "WGTS" => {
                    let latent = c.u32()?;
                    let n = c.u32()? as usize;
                    r.weights.push((latent, c.words(n)?));
                }
                "RNDR" => {
                    let (latent, kind, points, out_dim) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
                    let values = c.words(points as usize * out_dim as usize)?;
                    r.render = Some(Render {
                        latent,
                        kind,
                        points,
                        out_dim,
                        values,
                    });
                }
                "TICK" => {
                    let name = String::from_utf8_lossy(c.take(4)?).into_owned();
                    let lo = c.u32()? as u64;
                    let hi = c.u32()? as u64;
                    let work = c.u32()? as u64;
                    r.ticks.push(Ticks {
                        name,
                        ticks: lo | hi << 32,
                        work,
                    });
                }
                "STAK" => r.stack = Some((c.u32()?, c.u32()?)),
                _ => r.done = Some(c.u32()?),
            }
            c.end()?;
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
        let per_tick = self.instructions_per_tick()?;
        let t = self.tick(name)?;
        let overhead = self.tick("NULL").map_or(0, |n| n.ticks);
        Some((t.ticks.saturating_sub(overhead) as f64 * per_tick).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(out: &mut Vec<u8>, tag: &[u8; 4], words: &[u32]) {
        out.extend_from_slice(tag);
        out.extend_from_slice(&(4 * words.len() as u32).to_le_bytes());
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }

    #[test]
    fn parses_every_record_kind() {
        let mut f = b"HIRS".to_vec();
        f.extend_from_slice(&1u32.to_le_bytes());
        record(&mut f, b"INFO", &[100, 0xDEAD_BEEF, 1]);
        record(&mut f, b"SELF", &[4]);
        record(&mut f, b"GVEC", &[0, 7, 3, 2, 10, 11, 1, 12]);
        record(&mut f, b"CLAS", &[2, 1, 5, 50, 6, 60]);
        record(&mut f, b"ACCU", &[1, 2]);
        record(&mut f, b"WGTS", &[9, 2, 1, 2]);
        record(&mut f, b"RNDR", &[0, 0, 2, 1, 3, 4]);
        record(&mut f, b"TICK", &[u32::from_le_bytes(*b"CALB"), 5, 1, 40]);
        record(&mut f, b"STAK", &[512, 4096]);
        f.extend_from_slice(b"ERR ");
        f.extend_from_slice(&9u32.to_le_bytes());
        f.extend_from_slice(&2u32.to_le_bytes());
        f.extend_from_slice(b"Boom!");
        record(&mut f, b"DONE", &[2]);
        let r = Results::parse(&f).unwrap();
        assert_eq!(r.info, Some((100, 0xDEAD_BEEF, 1)));
        assert_eq!(r.self_test, Some(4));
        assert_eq!(r.golden[0].outputs, [10, 11]);
        assert_eq!(r.golden[0].logits, [12]);
        assert_eq!(r.classes, vec![(5, vec![50]), (6, vec![60])]);
        assert_eq!(r.accuracy, Some((1, 2)));
        assert_eq!(r.weights, vec![(9, vec![1, 2])]);
        assert_eq!(r.render.as_ref().unwrap().values, [3, 4]);
        assert_eq!(r.tick("CALB").unwrap().ticks, 5 | 1 << 32);
        assert_eq!(
            r.instructions_per_tick(),
            Some(40.0 / (5 + (1u64 << 32)) as f64)
        );
        assert_eq!(r.stack, Some((512, 4096)));
        assert_eq!(r.errors, vec![(Stage::SelfTest, "Boom!".to_string())]);
        assert_eq!(r.done, Some(2));
    }

    #[test]
    fn rejects_truncated_and_unknown_records() {
        let mut f = b"HIRS".to_vec();
        f.extend_from_slice(&1u32.to_le_bytes());
        let good = f.clone();
        record(&mut f, b"STAK", &[1]);
        assert!(Results::parse(&f).unwrap_err().0.contains("ends early"));
        let mut f = good.clone();
        record(&mut f, b"WHAT", &[]);
        assert!(Results::parse(&f).unwrap_err().0.contains("unknown record"));
        let mut f = good;
        f.extend_from_slice(b"DONE\x08\0\0\0");
        assert!(Results::parse(&f).is_err());
        assert!(Results::parse(b"HIRX").is_err());
    }
}
