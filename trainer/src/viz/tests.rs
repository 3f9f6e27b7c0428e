//! Every picture is drawn from synthetic data into a temporary folder, decoded again with
//! `image`, and checked for what it must show.

use super::*;
use image::{Rgb, RgbImage};
use std::path::Path;

fn decode(path: &Path) -> RgbImage {
    image::open(path).expect("decodes").to_rgb8()
}

/// Pixels of exactly `c` inside rows `y0..y1`.
fn count(img: &RgbImage, c: [u8; 3], y0: u32, y1: u32) -> usize {
    (y0..y1.min(img.height()))
        .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 == c)
        .count()
}

/// Pixels darker than light gray (text, axes) inside rows `y0..y1`.
fn dark(img: &RgbImage, y0: u32, y1: u32) -> usize {
    (y0..y1.min(img.height()))
        .flat_map(|y| (0..img.width()).map(move |x| img.get_pixel(x, y).0))
        .filter(|p| p.iter().all(|&v| v < 160))
        .count()
}

const BLUE: [u8; 3] = [70, 110, 170];
const ORANGE: [u8; 3] = [230, 140, 40];
const RED: [u8; 3] = [200, 40, 40];

fn panel<'a>(title: &'a str, values: &'a [f64], bins: usize) -> Histogram<'a> {
    Histogram::plain(title, "log₁₀ σ", values, bins)
}

#[test]
fn histograms_show_bars_stacks_markers_and_titles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/h.png");
    let a: Vec<f64> = (0..400).map(|i| -2.0 + (i % 40) as f64 * 0.05).collect();
    let mut with_nan = a.clone();
    with_nan.extend([f64::NAN, f64::INFINITY]);
    let ranks: Vec<f64> = (0..100).map(|i| 50.0 + (i % 15) as f64).collect();
    let panels = [
        panel("plain", &with_nan, 30),
        Histogram {
            stacked: &a[..100],
            stacked_label: "negative",
            label: "positive",
            ..panel("stacked", &a, 30)
        },
        Histogram {
            marker: Some(Marker {
                at: 64.0,
                label: "full rank = 64",
            }),
            ..panel("ranks", &ranks, 15)
        },
        panel("empty", &[f64::NAN], 10),
    ];
    histograms_png(&path, "IFT", &panels).unwrap();
    let img = decode(&path);
    assert_eq!(img.height(), 44 + 4 * 290);
    assert!(img.width() > 1000, "legend column added");
    let rows = |k: u32| (44 + k * 290, 44 + (k + 1) * 290);
    assert!(dark(&img, 0, 44) > 50, "title drawn");
    for k in 0..3 {
        let (y0, y1) = rows(k);
        assert!(count(&img, BLUE, y0, y1) > 2000, "bars in panel {k}");
        assert!(dark(&img, y0, y0 + 30) > 30, "panel title {k}");
    }
    assert!(
        count(&img, ORANGE, rows(1).0, rows(1).1) > 500,
        "stacked bars"
    );
    assert_eq!(count(&img, ORANGE, rows(0).0, rows(0).1), 0);
    assert!(count(&img, RED, rows(2).0, rows(2).1) > 100, "marker line");
    assert_eq!(count(&img, BLUE, rows(3).0, rows(3).1), 0, "empty panel");
    assert!(
        !std::fs::read_dir(dir.path().join("sub")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
}

#[test]
fn scatter_maps_colour_every_class_and_list_it() {
    let dir = tempfile::tempdir().unwrap();
    for n in [10usize, 40] {
        let names: Vec<String> = (0..n).map(|k| format!("class name {k}")).collect();
        let classes: Vec<usize> = (0..20 * n).map(|i| i % n).collect();
        let points: Vec<[f32; 2]> = classes
            .iter()
            .enumerate()
            .map(|(i, &c)| [c as f32 + (i % 7) as f32 * 0.05, (c % 5) as f32])
            .collect();
        let path = dir.path().join(format!("s{n}.png"));
        let map = ScatterMap {
            title: "map",
            x_label: "PC 1 (23 % of variance)",
            y_label: "PC 2",
            points: &points,
            classes: &classes,
            class_names: &names,
        };
        scatter_map_png(&path, &map).unwrap();
        let img = decode(&path);
        assert_eq!(img.height(), 44 + 760);
        let colours: Vec<[u8; 3]> = (0..n).map(|k| class_colour(k, n)).collect();
        for (k, c) in colours.iter().enumerate() {
            assert!(
                count(&img, *c, 0, img.height()) >= 9,
                "class {k} of {n} drawn"
            );
            assert!(
                !colours[..k].contains(c),
                "class {k} of {n} has its own colour"
            );
        }
        let non_white = img.pixels().filter(|p| p.0 != [255; 3]).count();
        assert!(non_white > 20 * n * 9, "points drawn");
        let bad = ScatterMap {
            classes: &classes[1..],
            ..map
        };
        let err = scatter_map_png(&path, &bad).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
    let many: Vec<[u8; 3]> = (0..100).map(|k| class_colour(k, 100)).collect();
    for i in 0..100 {
        assert!(!many[..i].contains(&many[i]), "colour {i} of 100");
    }
}

/// Bounding box (x0, y0, x1, y1), inclusive, of pure-black pixels.
fn black_box(img: &RgbImage) -> (u32, u32, u32, u32) {
    let mut b = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in img.enumerate_pixels() {
        if p.0 == [0, 0, 0] {
            b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
        }
    }
    b
}

#[test]
fn grids_enlarge_tiles_and_caption_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.png");
    // One black tile with a caption, one mid-gray tile without, scale 3.
    let rows = vec![vec![
        Tile::gray(vec![0; 28 * 28], 28, 28).with_caption("t = 0.25"),
        Tile::gray(vec![128; 28 * 28], 28, 28),
    ]];
    let caps = ["original".to_string(), "reconstruction".to_string()];
    let grid = ImageGrid {
        title: "grid",
        column_captions: &caps,
        group_captions: &[],
        row_captions: &[],
        rows: &rows,
        scale: 3,
        group: 0,
    };
    image_grid_png(&path, &grid).unwrap();
    let img = decode(&path);
    let (x0, y0, x1, y1) = black_box(&img);
    assert_eq!(
        (x1 - x0 + 1, y1 - y0 + 1),
        (84, 84),
        "28 px tile at scale 3"
    );
    let gray = img.pixels().filter(|p| p.0 == [128; 3]).count();
    assert_eq!(gray, 84 * 84);
    let under = |xa: u32, xb: u32| {
        (y1 + 2..y1 + 20)
            .flat_map(|y| (xa..xb).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v < 160))
            .count()
    };
    assert!(under(x0, x1) > 20, "caption under the first tile");
    let gx = img
        .enumerate_pixels()
        .find(|(_, _, p)| p.0 == [128; 3])
        .unwrap()
        .0;
    assert_eq!(under(gx, gx + 84), 0, "no caption under the second tile");
    assert!(dark(&img, 0, y0) > 100, "title and column captions");
    // Nearest-neighbour: a 2×2 checkerboard becomes 3×3 blocks.
    let rows = vec![vec![Tile::gray(vec![0, 255, 255, 0], 2, 2)]];
    image_grid_png(
        &path,
        &ImageGrid {
            rows: &rows,
            title: "",
            column_captions: &[],
            ..grid
        },
    )
    .unwrap();
    let img = decode(&path);
    let (x0, y0, x1, y1) = black_box(&img);
    assert_eq!((x1 - x0, y1 - y0), (5, 5));
    assert_eq!(img.get_pixel(x0 + 2, y0 + 2).0, [0; 3]);
    assert_eq!(img.get_pixel(x0 + 3, y0 + 2).0, [255; 3]);
    // A tile whose pixels do not match its size is refused, naming the file.
    let rows = vec![vec![Tile::gray(vec![0; 5], 2, 2)]];
    let err = image_grid_png(
        &path,
        &ImageGrid {
            rows: &rows,
            ..grid
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("g.png"), "{err}");
}

#[test]
fn pictures_are_told_by_content_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // The format is told by content: a BMP under another name.
    let bmp = dir.path().join("picture.dat");
    let img = RgbImage::from_pixel(3, 2, Rgb([255, 255, 255]));
    img.save_with_format(&bmp, image::ImageFormat::Bmp).unwrap();
    let g = open_picture(&bmp).unwrap().into_luma8();
    assert_eq!((g.width(), g.height(), g.as_raw()[0]), (3, 2, 255));
    let err = open_picture(&dir.path().join("missing.png")).unwrap_err();
    assert!(format!("{err:#}").contains("missing.png"), "{err:#}");
    std::fs::write(&bmp, b"not a picture").unwrap();
    assert!(format!("{:#}", open_picture(&bmp).unwrap_err()).contains("picture.dat"));
}

#[test]
fn rgb_pngs_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.png");
    let px: Vec<u8> = (0..36).map(|i| i * 7).collect();
    super::png::write_rgb_png(&path, 4, 3, &px).unwrap();
    let img = image::open(&path).unwrap();
    assert_eq!(img.color(), image::ColorType::Rgb8);
    assert_eq!(img.into_rgb8().into_raw(), px);
    let err = super::png::write_rgb_png(&path, 5, 3, &px).unwrap_err();
    assert!(err.to_string().contains("g.png"), "{err}");
}

#[test]
fn projections_put_points_where_they_are() {
    let px = projection(&[0.0, 0.0, 0.0, 1.05, 1.05, 1.05, 5.0, 0.0, 0.0], 2);
    assert_eq!(px.len(), PANEL * PANEL);
    // x = ⌊0.5 · 96⌋ = 48; y counts down from the top: 95 − 48 = 47.
    let centre = px[47 * PANEL + 48];
    assert!(centre > 0, "origin at the centre");
    assert!(px[2 * PANEL + 93] > centre, "nearer is brighter");
    assert_eq!(
        px.iter().filter(|&&v| v > 0).count(),
        2,
        "outside point left out"
    );
}

#[test]
fn a_single_integer_is_one_bar_among_its_neighbours() {
    // Every rank 64 and the full-rank marker at 64: one bar, not the whole panel.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rank.png");
    let ranks = [64.0; 30];
    let p = Histogram {
        marker: Some(Marker {
            at: 64.0,
            label: "full rank",
        }),
        ..panel("rank", &ranks, 1)
    };
    histograms_png(&path, "", &[p]).unwrap();
    let img = decode(&path);
    let xs: Vec<u32> = img
        .enumerate_pixels()
        .filter(|(_, _, p)| p.0 == BLUE)
        .map(|(x, _, _)| x)
        .collect();
    let (lo, hi) = (xs.iter().min().unwrap(), xs.iter().max().unwrap());
    assert!(hi - lo < 1000 / 6, "bar spans {lo}..{hi}");
}
