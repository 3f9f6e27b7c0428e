//! Preparing a user's picture the way FashionMNIST converted its product photos
//! (README of zalandoresearch/fashion-mnist): trim to the object, longest side to the
//! frame with the aspect kept, sharpen, centre on a square of background, make the
//! object light on black, 8-bit grayscale.
//!
//! The result uses the dataset's value convention: `u8`, row-major, background 0 and
//! the object's brightest pixel 255, exactly like an IDX item (the trainer turns both
//! into `p / 255.0` the same way).

use std::path::Path;

use anyhow::{bail, Result};
use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage, ImageBuffer, Luma};

/// A pixel belongs to the object when it is farther than this from the background
/// level (fraction of full scale; FashionMNIST's trim used 5 % of max intensity).
pub const OBJECT_THRESHOLD: f32 = 0.05;

/// Which way round the object and its background are (`classify --polarity`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Polarity {
    /// Background = median of the border pixels; a light background (> 50 %) means a
    /// dark object, which is negated so the object ends light-on-dark.
    #[default]
    Auto,
    /// Dark object on a light background (a product photo): always negated.
    DarkObject,
    /// Light object on a dark background (like the dataset): never negated.
    LightObject,
}

/// A rectangle of the source picture, in its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CropBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// How the cropped object is brought to the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resampling {
    /// Filter for `imageops::resize` of the crop to `side` on its longest edge.
    pub filter: FilterType,
    /// Unsharp mask (σ, threshold in 8-bit levels) after resizing, like FashionMNIST's
    /// sharpen step; `None` skips it.
    pub sharpen: Option<(f32, i32)>,
}

impl Default for Resampling {
    /// Catmull-Rom (antialiased, unlike FashionMNIST's subsampling) and a mild unsharp
    /// mask: the closest match to the dataset items in the round-trip tests below.
    fn default() -> Self {
        Resampling {
            filter: FilterType::CatmullRom,
            sharpen: Some((0.5, 0)),
        }
    }
}

/// A picture ready for a `side × side` image model, and what was detected on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct PreparedPicture {
    /// Width and height of the frame.
    pub side: u32,
    /// `side × side` row-major pixels: background 0, object up to 255 (IDX convention).
    pub pixels: Vec<u8>,
    /// Width and height of the source picture.
    pub source_size: (u32, u32),
    /// The object's bounding box in the source.
    pub crop: CropBox,
    /// Background level of the source (8-bit gray, before any negation).
    pub background: u8,
    /// The source level that became 255 (8-bit gray, before any negation).
    pub peak: u8,
    /// Whether intensities were negated (a dark object on a light background).
    pub inverted: bool,
    /// Gray level that transparent pixels were composited on, if any were.
    pub matte: Option<u8>,
    /// Width and height of the object inside the frame.
    pub scaled: (u32, u32),
}

impl PreparedPicture {
    /// One line for `classify` to print.
    pub fn summary(&self) -> String {
        let (c, (w, h), (sw, sh), s) = (&self.crop, self.source_size, self.scaled, self.side);
        let kind = match self.inverted {
            true => "light: inverted, dark object",
            false => "dark: light object",
        };
        let matte = self.matte.map(|m| format!(", transparency on level {m}"));
        format!(
            "picture {w}×{h}: background level {} ({kind}), object {}×{} at ({}, {}) peaking at \
             level {}, scaled to {sw}×{sh} in {s}×{s}{}",
            self.background,
            c.width,
            c.height,
            c.x,
            c.y,
            self.peak,
            matte.unwrap_or_default()
        )
    }
}

/// Prepare `img` for a `side × side` model with the default [`Resampling`].
pub fn prepare(img: &DynamicImage, side: u32, polarity: Polarity) -> Result<PreparedPicture> {
    prepare_with(img, side, polarity, Resampling::default(), "the picture")
}

/// Open the picture at `path` (any format [`crate::viz::open_picture`] reads, told by its
/// content) and [`prepare`] it; errors name the file.
pub fn prepare_file(path: &Path, side: u32, polarity: Polarity) -> Result<PreparedPicture> {
    let img = crate::viz::open_picture(path)?;
    prepare_with(
        &img,
        side,
        polarity,
        Resampling::default(),
        &path.display().to_string(),
    )
}

/// [`prepare`] with a chosen resampling; `source` names the picture in errors.
pub fn prepare_with(
    img: &DynamicImage,
    side: u32,
    polarity: Polarity,
    resampling: Resampling,
    source: &str,
) -> Result<PreparedPicture> {
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 || side == 0 {
        bail!("{source}: empty picture ({w}×{h}) or frame ({side})");
    }
    // Gray in [0, 1] (BT.601 luma), alpha composited on a
    // matte: white (paper behind a product cut-out) unless the object is declared light.
    let matte_level = if polarity == Polarity::LightObject {
        0.0
    } else {
        1.0
    };
    let rgba = img.to_rgba32f();
    let mut transparent = false;
    let gray: Vec<f32> = rgba
        .pixels()
        .map(|p| {
            let [r, g, b, a] = p.0.map(|c| c.clamp(0.0, 1.0));
            transparent |= a < 1.0;
            (0.299 * r + 0.587 * g + 0.114 * b) * a + matte_level * (1.0 - a)
        })
        .collect();
    let at = |x: u32, y: u32| gray[(y * w + x) as usize];

    // Background: median of the border pixels.
    let mut border: Vec<f32> = (0..w).flat_map(|x| [at(x, 0), at(x, h - 1)]).collect();
    border.extend((0..h).flat_map(|y| [at(0, y), at(w - 1, y)]));
    border.sort_by(f32::total_cmp);
    let bg = border[border.len() / 2];
    let background = to_u8(bg);
    let inverted = match polarity {
        Polarity::Auto => bg > 0.5,
        Polarity::DarkObject => true,
        Polarity::LightObject => false,
    };

    // Crop: bounding box of the pixels farther than the threshold from the background.
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if (at(x, y) - bg).abs() > OBJECT_THRESHOLD {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    if x0 >= x1 {
        bail!(
            "no object found in {source}: every pixel within {:.0} % of the background level {background}",
            OBJECT_THRESHOLD * 100.0
        );
    }
    let crop = CropBox {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    };

    // Object light on dark, background → 0, brightest object pixel → 1 (every
    // FashionMNIST item peaks at 254 or 255 on a background of 0).
    let orient = |v: f32| if inverted { 1.0 - v } else { v };
    let (bg_o, mut peak_o) = (orient(bg), orient(bg));
    for y in y0..y1 {
        for x in x0..x1 {
            peak_o = peak_o.max(orient(at(x, y)));
        }
    }
    // A forced polarity that contradicts the picture leaves no brighter pixels: keep
    // the levels as they are rather than dividing by ~0.
    let (lo, hi) = if peak_o - bg_o > OBJECT_THRESHOLD {
        (bg_o, peak_o)
    } else {
        (0.0, 1.0)
    };
    let peak = to_u8(if inverted { 1.0 - hi } else { hi });
    let object: ImageBuffer<Luma<f32>, Vec<f32>> =
        ImageBuffer::from_fn(crop.width, crop.height, |x, y| {
            Luma([((orient(at(x0 + x, y0 + y)) - lo) / (hi - lo)).clamp(0.0, 1.0)])
        });

    // Longest edge to the frame, aspect kept.
    let longest = crop.width.max(crop.height) as f32;
    let fit = |n: u32| ((n as f32 * side as f32 / longest).round() as u32).clamp(1, side);
    let (sw, sh) = (fit(crop.width), fit(crop.height));
    // An object already at the frame's scale (a dataset item, say) is used as it is:
    // resampling and sharpening would only blur and then distort what was prepared before.
    let same_scale = (sw, sh) == (crop.width, crop.height);
    let resized = match same_scale {
        true => object,
        false => imageops::resize(&object, sw, sh, resampling.filter),
    };
    let mut scaled: GrayImage =
        ImageBuffer::from_fn(sw, sh, |x, y| Luma([to_u8(resized.get_pixel(x, y).0[0])]));
    if let (Some((sigma, threshold)), false) = (resampling.sharpen, same_scale) {
        scaled = imageops::unsharpen(&scaled, sigma, threshold);
    }

    // Centre on a frame of background; an odd leftover goes left/top, as measured on
    // the dataset (ImageMagick's -gravity center -extent).
    let mut frame = GrayImage::new(side, side);
    let (ox, oy) = ((side - sw).div_ceil(2), (side - sh).div_ceil(2));
    imageops::replace(&mut frame, &scaled, ox as i64, oy as i64);

    Ok(PreparedPicture {
        side,
        pixels: frame.into_raw(),
        source_size: (w, h),
        crop,
        background,
        peak,
        inverted,
        matte: transparent.then_some(to_u8(matte_level)),
        scaled: (sw, sh),
    })
}

fn to_u8(v: f32) -> u8 {
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayAlphaImage, LumaA, Rgba, RgbaImage};

    const SIDE: u32 = 28;
    /// Where the 196×196 drawing sits on the 200×240 page: off-centre.
    const AT: (i64, i64) = (3, 10);

    /// The first `n` FashionMNIST test items, from the in-repo subset (the official test
    /// file's first 500).
    fn items(n: usize) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/fashion-mnist-subset");
        let set = hyperinr_data::fashion::load_idx_pair(&dir, "t10k").unwrap();
        assert!(
            set.len() >= n,
            "the subset holds {} items, need {n}",
            set.len()
        );
        (0..n).map(|i| set.image(i).to_vec()).collect()
    }

    /// The user's picture of `item`: upscaled ×7 with `filter`, dark-on-white (or as in
    /// the dataset when `light_object`), on a 200×240 page of its background.
    fn page(item: &[u8], light_object: bool, filter: FilterType) -> GrayImage {
        let drawn = GrayImage::from_fn(28, 28, |x, y| {
            let p = item[(y * 28 + x) as usize];
            Luma([if light_object { p } else { 255 - p }])
        });
        let big = imageops::resize(&drawn, 196, 196, filter);
        let bg = if light_object { 0 } else { 255 };
        let mut page = GrayImage::from_pixel(200, 240, Luma([bg]));
        imageops::replace(&mut page, &big, AT.0, AT.1);
        page
    }

    /// The old `classify` path, for comparison: the whole page squashed to 28×28 by box
    /// averages, optionally negated (its `--invert`).
    fn naive(page: &GrayImage, invert: bool) -> Vec<u8> {
        let (sw, sh) = (page.width() as usize, page.height() as usize);
        let mut out = Vec::new();
        for oy in 0..28 {
            for ox in 0..28 {
                let (y0, y1) = (oy * sh / 28, (oy + 1) * sh / 28);
                let (x0, x1) = (ox * sw / 28, (ox + 1) * sw / 28);
                let mut s = 0.0;
                for y in y0..y1 {
                    for x in x0..x1 {
                        s += page.get_pixel(x as u32, y as u32).0[0] as f32;
                    }
                }
                let v = s / ((y1 - y0) * (x1 - x0)) as f32;
                out.push((if invert { 255.0 - v } else { v }).round() as u8);
            }
        }
        out
    }

    /// Mean absolute difference in 8-bit levels.
    fn mad(a: &[u8], b: &[u8]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(&x, &y)| x.abs_diff(y) as f64)
            .sum::<f64>()
            / a.len() as f64
    }

    fn prep(page: GrayImage, polarity: Polarity, r: Resampling) -> PreparedPicture {
        prepare_with(&DynamicImage::ImageLuma8(page), SIDE, polarity, r, "page").unwrap()
    }

    /// (prepared, naive, naive with --invert) mean absolute differences per item.
    fn round_trips(n: usize, up: FilterType, r: Resampling) -> Vec<[f64; 3]> {
        items(n)
            .iter()
            .map(|item| {
                let pg = page(item, false, up);
                let p = prep(pg.clone(), Polarity::Auto, r);
                assert!(p.inverted && p.background == 255);
                [
                    mad(&p.pixels, item),
                    mad(&naive(&pg, false), item),
                    mad(&naive(&pg, true), item),
                ]
            })
            .collect()
    }

    fn mean(v: &[[f64; 3]], k: usize) -> f64 {
        v.iter().map(|m| m[k]).sum::<f64>() / v.len() as f64
    }

    /// Whether the item's object reaches both ends of its longer side at the crop
    /// threshold, so that cropping the user's picture recovers the item's exact scale.
    fn touches_frame(item: &[u8]) -> bool {
        let on = |x: usize, y: usize| item[y * 28 + x] as f32 > OBJECT_THRESHOLD * 255.0;
        let col = |x| (0..28).any(|y| on(x, y));
        let row = |y| (0..28).any(|x| on(x, y));
        (col(0) && col(27)) || (row(0) && row(27))
    }

    #[test]
    fn padded_light_background_pictures_match_the_items() {
        let up = FilterType::Nearest;
        let five = round_trips(5, up, Resampling::default());
        for (i, m) in five.iter().enumerate() {
            println!(
                "item {i}: prepared {:.2}, naive {:.2}, naive --invert {:.2}",
                m[0], m[1], m[2]
            );
            assert!(m[0] < 0.02 * 255.0 && m[0] * 4.0 < m[2], "item {i}: {m:?}");
        }
        let all = items(50);
        let fifty = round_trips(all.len(), up, Resampling::default());
        for (i, (m, item)) in fifty.iter().zip(&all).enumerate() {
            let touching = touches_frame(item);
            if !touching {
                println!("item {i} has a margin on its longer side: {m:.2?}");
            }
            assert!(m[0] < m[2], "item {i}: {m:?}");
            assert!(!touching || m[0] < 0.02 * 255.0, "item {i}: {m:?}");
        }
        let (p, n, ni) = (mean(&fifty, 0), mean(&fifty, 1), mean(&fifty, 2));
        println!("50 items: prepared {p:.2}, naive {n:.2}, naive --invert {ni:.2}");
        assert!(p < 0.03 * 255.0 && p * 4.0 < ni);
    }

    #[test]
    fn crop_box_and_summary() {
        let item = &items(1)[0]; // an ankle boot touching left and right, rows 7..22
        let p = prep(
            page(item, false, FilterType::Nearest),
            Polarity::Auto,
            Resampling::default(),
        );
        let crop = CropBox {
            x: AT.0 as u32,
            y: AT.1 as u32 + 7 * 7,
            width: 196,
            height: 15 * 7,
        };
        assert_eq!(
            (p.crop, p.scaled, p.peak, p.matte),
            (crop, (28, 15), 0, None)
        );
        println!("{}", p.summary());
        let forced = prep(
            page(item, false, FilterType::Nearest),
            Polarity::DarkObject,
            Resampling::default(),
        );
        assert_eq!(forced, p);
    }

    #[test]
    fn items_at_the_frame_scale_pass_through() {
        // A dataset item as the user's picture: no resampling, no sharpening; only the
        // levels are stretched so that the brightest pixel is 255.
        for item in &items(5) {
            let img = GrayImage::from_raw(SIDE, SIDE, item.clone()).unwrap();
            let p = prepare(&DynamicImage::ImageLuma8(img), SIDE, Polarity::Auto).unwrap();
            let peak = *item.iter().max().unwrap() as f32;
            let stretched: Vec<u8> = (item.iter())
                .map(|&v| (v as f32 * 255.0 / peak).round() as u8)
                .collect();
            assert!(!p.inverted && p.background == 0);
            // Off by rounding, except faint pixels outside the object's box (within the
            // 5 % threshold of the background), which the trim leaves at 0.
            let faint = (OBJECT_THRESHOLD * 255.0).ceil() as u8;
            for (k, (&got, &want)) in p.pixels.iter().zip(&stretched).enumerate() {
                let ok = got.abs_diff(want) <= 1 || (got == 0 && want <= faint);
                assert!(ok, "pixel {k}: {got}, item stretched {want}");
            }
        }
    }

    #[test]
    fn light_object_on_dark_is_not_inverted() {
        for item in &items(5) {
            let p = prep(
                page(item, true, FilterType::Nearest),
                Polarity::Auto,
                Resampling::default(),
            );
            assert!(!p.inverted && p.background == 0);
            assert!(mad(&p.pixels, item) < 0.05 * 255.0);
        }
    }

    #[test]
    fn all_background_is_an_error() {
        let white = DynamicImage::ImageLuma8(GrayImage::from_pixel(200, 240, Luma([255])));
        let e = prepare(&white, SIDE, Polarity::Auto)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "no object found in the picture: every pixel within 5 % of the background level 255"
        );
        // Faint texture within 5 % is still background.
        let faint = GrayImage::from_fn(50, 50, |x, y| Luma([245 + ((x + y) % 10) as u8]));
        assert!(prepare(&DynamicImage::ImageLuma8(faint), SIDE, Polarity::Auto).is_err());
    }

    #[test]
    fn transparent_padding_works() {
        for item in &items(5) {
            // The white drawing on a transparent page, and a cut-out: object opaque only.
            let pg = page(item, false, FilterType::Nearest);
            let padded = RgbaImage::from_fn(200, 240, |x, y| {
                let inside = (AT.0..AT.0 + 196).contains(&(x as i64))
                    && (AT.1..AT.1 + 196).contains(&(y as i64));
                let v = pg.get_pixel(x, y).0[0];
                Rgba([v, v, v, if inside { 255 } else { 0 }])
            });
            let cutout = GrayAlphaImage::from_fn(200, 240, |x, y| {
                let v = pg.get_pixel(x, y).0[0];
                LumaA([0, 255 - v]) // black ink, coverage = darkness
            });
            for img in [
                DynamicImage::ImageRgba8(padded),
                DynamicImage::ImageLumaA8(cutout),
            ] {
                let p = prepare(&img, SIDE, Polarity::Auto).unwrap();
                assert!(p.inverted && p.matte == Some(255));
                assert!(
                    mad(&p.pixels, item) < 0.05 * 255.0,
                    "{}",
                    mad(&p.pixels, item)
                );
            }
        }
    }

    #[test]
    fn files_are_read_and_named_in_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let item = &items(1)[0];
        let photo = dir.join("photo.png");
        page(item, false, FilterType::Nearest).save(&photo).unwrap();
        let p = prepare_file(&photo, SIDE, Polarity::Auto).unwrap();
        assert!(p.inverted && mad(&p.pixels, item) < 0.02 * 255.0);
        let blank = dir.join("blank.png");
        GrayImage::from_pixel(20, 30, Luma([3]))
            .save(&blank)
            .unwrap();
        let e = prepare_file(&blank, SIDE, Polarity::Auto)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "no object found in {}: every pixel within 5 % of the background level 3",
                blank.display()
            )
        );
        let missing = dir.join("missing.png");
        let e = prepare_file(&missing, SIDE, Polarity::Auto).unwrap_err();
        assert!(
            format!("{e:#}").contains(&missing.display().to_string()),
            "{e:#}"
        );
        // Not a picture: named, and told as such.
        let junk = dir.join("photo.jpg");
        std::fs::write(&junk, b"not a picture").unwrap();
        let e = prepare_file(&junk, SIDE, Polarity::Auto).unwrap_err();
        assert!(format!("{e:#}").contains("photo.jpg: not a PNG"), "{e:#}");
    }

    #[test]
    fn contradicting_polarity_does_not_blow_up() {
        let item = &items(1)[0];
        let p = prep(
            page(item, false, FilterType::Nearest),
            Polarity::LightObject,
            Resampling::default(),
        );
        assert!(!p.inverted && p.pixels.iter().any(|&v| v > 0));
    }

    /// `cargo test -- --ignored --nocapture`: which resampling matches the dataset best.
    #[test]
    #[ignore]
    fn resampling_table() {
        let n = 500;
        for up in [FilterType::Nearest, FilterType::CatmullRom] {
            for filter in [
                FilterType::Nearest,
                FilterType::Triangle,
                FilterType::CatmullRom,
                FilterType::Gaussian,
                FilterType::Lanczos3,
            ] {
                for sharpen in [None, Some((1.0, 0)), Some((0.5, 0))] {
                    let m = round_trips(n, up, Resampling { filter, sharpen });
                    let worst = m.iter().map(|m| m[0]).fold(0.0, f64::max);
                    println!(
                        "up {up:?} down {filter:?} sharpen {sharpen:?}: prepared {:.2} (worst {worst:.2}), naive {:.2}, naive --invert {:.2}",
                        mean(&m, 0), mean(&m, 1), mean(&m, 2)
                    );
                }
                // Floor: the drawing straight back to 28×28, no crop, no padding.
                let (mut sum, mut worst) = (0.0, 0.0f64);
                for item in &items(n) {
                    let pg = page(item, true, up);
                    let drawing = imageops::crop_imm(&pg, AT.0 as u32, AT.1 as u32, 196, 196);
                    let m = mad(
                        &imageops::resize(&*drawing, 28, 28, filter).into_raw(),
                        item,
                    );
                    (sum, worst) = (sum + m, worst.max(m));
                }
                println!(
                    "up {up:?} down {filter:?} floor: {:.2} (worst {worst:.2})",
                    sum / n as f64
                );
            }
        }
    }
}
