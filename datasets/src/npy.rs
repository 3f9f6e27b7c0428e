//! NPY files holding point clouds: little-endian `float32` arrays of shape `(N, 3)`.
//!
//! Part of the burn-free `hyperinr-data` crate, so that the fuzz target (`datasets/fuzz`)
//! builds in a minute and libFuzzer reaches the parser at full speed.
//! Every error names the file and the byte offset of what is wrong.

use anyhow::{anyhow, bail, ensure, Context, Result};
use std::path::Path;

/// The six bytes every NPY file starts with.
pub const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The only element type read and written: little-endian IEEE-754 binary32.
const NPY_DESCR: &str = "<f4";

/// Reads an NPY file holding an `(N, 3)` little-endian `float32` array (see
/// [`parse_npy_points`] for what is accepted).
pub fn read_npy_points(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    parse_npy_points(&bytes, path)
}

/// Parses the bytes of an NPY file (format version 1.0 or 2.0) holding a C-order `(N, 3)`
/// array of little-endian `float32` (`'<f4'`), `N ≥ 1`, every value finite; returns the
/// `N × 3` values in file order.
///
/// `path` only names the file in errors, which also give the byte offset of what is wrong:
/// bad magic or version, a malformed header, another dtype, shape or Fortran order, data
/// shorter or longer than the shape needs, NaN or infinite values.
pub fn parse_npy_points(bytes: &[u8], path: &Path) -> Result<Vec<f32>> {
    let p = path.display();
    if bytes.len() < 10 {
        bail!(
            "{p}: offset 0: file is {} bytes, too short for an NPY preamble",
            bytes.len()
        );
    }
    if &bytes[..6] != NPY_MAGIC {
        bail!(
            "{p}: offset 0: not an NPY file (starts with {:02x?}, expected \\x93NUMPY)",
            &bytes[..6]
        );
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let len_size = match (major, minor) {
        (1, 0) => 2,
        (2, 0) => 4,
        _ => bail!(
            "{p}: offset 6: NPY format version {major}.{minor} is not supported (1.0 and 2.0 are)"
        ),
    };
    let header_start = 8 + len_size;
    if bytes.len() < header_start {
        bail!(
            "{p}: offset {}: file ends inside the header length",
            bytes.len()
        );
    }
    let header_len = if len_size == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    let data_start = header_start + header_len;
    if bytes.len() < data_start {
        bail!(
            "{p}: offset {}: file ends inside the {header_len}-byte header that starts at offset {header_start}",
            bytes.len()
        );
    }
    let header = parse_npy_header(&bytes[header_start..data_start])
        .map_err(|(at, msg)| anyhow!("{p}: offset {}: NPY header: {msg}", header_start + at))?;

    if header.descr != NPY_DESCR {
        let hint = match header.descr.as_str() {
            "<f8" => " (float64; convert with `a.astype('<f4')`)",
            ">f4" => " (big-endian float32; convert with `a.astype('<f4')`)",
            _ => "",
        };
        bail!(
            "{p}: offset {}: dtype '{}'{hint}, expected '{NPY_DESCR}' (little-endian float32)",
            header_start + header.descr_at,
            header.descr
        );
    }
    if header.fortran_order {
        bail!(
            "{p}: offset {}: fortran_order is True, expected a C-order array (save `np.ascontiguousarray(a)`)",
            header_start + header.fortran_at
        );
    }
    let shape_at = header_start + header.shape_at;
    let n = match header.shape[..] {
        [n, 3] => n,
        _ => bail!(
            "{p}: offset {shape_at}: shape {}, expected (N, 3)",
            shape_text(&header.shape)
        ),
    };
    if n == 0 {
        bail!("{p}: offset {shape_at}: shape (0, 3): the cloud has no points");
    }
    let need = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(3 * 4))
        .ok_or_else(|| anyhow!("{p}: offset {shape_at}: shape ({n}, 3) is too large"))?;
    let data = &bytes[data_start..];
    if data.len() < need {
        bail!(
            "{p}: offset {}: file truncated: shape ({n}, 3) needs {need} data bytes from offset {data_start}, found {}",
            bytes.len(),
            data.len()
        );
    }
    if data.len() > need {
        bail!(
            "{p}: offset {}: {} unexpected bytes after the ({n}, 3) float32 data",
            data_start + need,
            data.len() - need
        );
    }
    let mut values = Vec::with_capacity(need / 4);
    for (k, word) in data.chunks_exact(4).enumerate() {
        let v = f32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        if !v.is_finite() {
            bail!(
                "{p}: offset {}: point {} coordinate {} is {v}; NaN and infinite values are not allowed",
                data_start + 4 * k,
                k / 3,
                ["x", "y", "z"][k % 3]
            );
        }
        values.push(v);
    }
    Ok(values)
}

// Used by the tests and by the fuzz target's round-trip check (datasets/fuzz).
#[cfg_attr(not(test), allow(dead_code))]
/// The bytes of an NPY 1.0 file holding `points` as an `(N, 3)` `'<f4'` array, laid out as
/// `numpy.save` lays it out (header padded with spaces to a multiple of 64 bytes).
pub fn npy_points_bytes(points: &[f32]) -> Result<Vec<u8>> {
    check_cloud(points).context("writing NPY")?;
    let n = points.len() / 3;
    let mut header =
        format!("{{'descr': '{NPY_DESCR}', 'fortran_order': False, 'shape': ({n}, 3), }}");
    // Preamble (10 bytes) + header + '\n' is padded to a multiple of 64.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let header_len = u16::try_from(header.len()).context("writing NPY: header too long")?;
    let mut out = Vec::with_capacity(10 + header.len() + points.len() * 4);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in points {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// What the three required keys of an NPY header say, with the offsets (within the header)
/// of their values.
struct NpyHeader {
    descr: String,
    descr_at: usize,
    fortran_order: bool,
    fortran_at: usize,
    shape: Vec<u64>,
    shape_at: usize,
}

/// A header error: offset within the header and message.
type HeaderError = (usize, String);

/// One value of the Python dict literal an NPY header holds.
enum PyValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// Parses the header: an ASCII Python dict literal with exactly the keys `descr` (a string),
/// `fortran_order` (a bool) and `shape` (a tuple of non-negative ints), followed by spaces
/// and a newline.
fn parse_npy_header(bytes: &[u8]) -> std::result::Result<NpyHeader, HeaderError> {
    if let Some(i) = bytes.iter().position(|&b| !b.is_ascii()) {
        return Err((i, format!("non-ASCII byte {:#04x}", bytes[i])));
    }
    let mut c = HeaderCursor { s: bytes, i: 0 };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    c.skip_ws();
    c.expect(b'{')?;
    loop {
        c.skip_ws();
        if c.eat(b'}') {
            break;
        }
        let key_at = c.i;
        let key = c.string()?;
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            _ => return Err((key_at, format!("unexpected key '{key}'"))),
        };
        if slot.is_some() {
            return Err((key_at, format!("key '{key}' appears twice")));
        }
        c.skip_ws();
        c.expect(b':')?;
        c.skip_ws();
        let at = c.i;
        *slot = Some((at, c.value()?));
        c.skip_ws();
        if !c.eat(b',') {
            c.skip_ws();
            c.expect(b'}')?;
            break;
        }
    }
    if let Some(j) = c.s[c.i..].iter().position(|&b| !b.is_ascii_whitespace()) {
        return Err((c.i + j, "unexpected text after the header dict".into()));
    }
    let end = bytes.len();
    let (descr_at, descr) = match descr {
        Some((at, PyValue::Str(s))) => (at, s),
        Some((at, _)) => return Err((at, "'descr' is not a string".into())),
        None => return Err((end, "key 'descr' missing".into())),
    };
    let (fortran_at, fortran_order) = match fortran {
        Some((at, PyValue::Bool(b))) => (at, b),
        Some((at, _)) => return Err((at, "'fortran_order' is not True or False".into())),
        None => return Err((end, "key 'fortran_order' missing".into())),
    };
    let (shape_at, shape) = match shape {
        Some((at, PyValue::Tuple(t))) => (at, t),
        Some((at, _)) => return Err((at, "'shape' is not a tuple of integers".into())),
        None => return Err((end, "key 'shape' missing".into())),
    };
    Ok(NpyHeader {
        descr,
        descr_at,
        fortran_order,
        fortran_at,
        shape,
        shape_at,
    })
}

/// A position in an NPY header being parsed.
struct HeaderCursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl HeaderCursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> std::result::Result<(), HeaderError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err((
                self.i,
                format!("expected '{}', found {}", b as char, self.found()),
            ))
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(b) => format!("'{}'", b as char),
            None => "the end of the header".into(),
        }
    }

    /// A quoted string without escapes (NPY headers never need any).
    fn string(&mut self) -> std::result::Result<String, HeaderError> {
        let start = self.i;
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err((
                    self.i,
                    format!("expected a quoted string, found {}", self.found()),
                ))
            }
        };
        self.i += 1;
        let body = self.i;
        while let Some(b) = self.peek() {
            if b == quote {
                let s = String::from_utf8_lossy(&self.s[body..self.i]).into_owned();
                self.i += 1;
                return Ok(s);
            }
            if b == b'\\' {
                return Err((self.i, "escape sequences are not supported".into()));
            }
            self.i += 1;
        }
        Err((start, "unterminated string".into()))
    }

    fn value(&mut self) -> std::result::Result<PyValue, HeaderError> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(PyValue::Str(self.string()?)),
            Some(b'(') => self.tuple(),
            _ if self.s[self.i..].starts_with(b"True") => {
                self.i += 4;
                Ok(PyValue::Bool(true))
            }
            _ if self.s[self.i..].starts_with(b"False") => {
                self.i += 5;
                Ok(PyValue::Bool(false))
            }
            _ => Err((
                self.i,
                format!(
                    "expected a string, True, False or a tuple, found {}",
                    self.found()
                ),
            )),
        }
    }

    /// `(a, b, ...)` of non-negative integers; `()`, `(n,)` and a trailing comma are fine,
    /// as is Python 2's `L` suffix.
    fn tuple(&mut self) -> std::result::Result<PyValue, HeaderError> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b')') {
                break;
            }
            let start = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.i += 1;
            }
            if start == self.i {
                return Err((
                    self.i,
                    format!("expected a non-negative integer, found {}", self.found()),
                ));
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
            let v: u64 = digits
                .parse()
                .map_err(|_| (start, format!("dimension {digits} is too large")))?;
            items.push(v);
            self.eat(b'L');
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(b')')?;
                break;
            }
        }
        Ok(PyValue::Tuple(items))
    }
}

/// A shape as Python writes it: `(5,)`, `(4, 2)`.
fn shape_text(shape: &[u64]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Writes `points` (`N × 3`, `N ≥ 1`, finite) as an NPY file (see [`npy_points_bytes`]);
/// the file appears whole or not at all.
pub fn write_npy_points(path: &Path, points: &[f32]) -> Result<()> {
    let bytes = npy_points_bytes(points).with_context(|| path.display().to_string())?;
    crate::io::write_atomic(path, &bytes)
}

/// Checks that `cloud` is a non-empty `N × 3` array of finite values.
pub fn check_cloud(cloud: &[f32]) -> Result<()> {
    ensure!(!cloud.is_empty(), "the point set is empty");
    ensure!(
        cloud.len().is_multiple_of(3),
        "{} values, not a multiple of 3 (x, y, z per point)",
        cloud.len()
    );
    if let Some(k) = cloud.iter().position(|v| !v.is_finite()) {
        bail!(
            "point {} coordinate {} is {}",
            k / 3,
            ["x", "y", "z"][k % 3],
            cloud[k]
        );
    }
    Ok(())
}
