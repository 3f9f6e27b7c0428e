//! The drawing surface of every chart: plotters' bitmap backend with text set by `ab_glyph`
//! directly. plotters 0.3.7's own `ab_glyph` text drops each glyph's side bearing, which
//! squeezes and spreads letters ("IFT", "( J)"); this backend places glyphs at their true
//! positions and otherwise hands everything to [`BitMapBackend`].

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};
use plotters_bitmap::BitMapBackendError;
use std::sync::OnceLock;

/// Cap height of DejaVu Sans as a share of the pixel scale (0.729 em over an ascent-to-descent
/// height of 1.164 em): used to centre capitals on a text's anchor.
const CAP: f64 = 0.626;

fn dejavu() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(super::DEJAVU_SANS).expect("checked by ensure_font")
    })
}

/// An RGB buffer that plotters draws on, with correctly spaced text.
pub(crate) struct Canvas<'a>(BitMapBackend<'a>);

impl<'a> Canvas<'a> {
    /// A canvas over `rgb` (`w × h × 3` bytes), keeping what the buffer already shows.
    pub(crate) fn new(rgb: &'a mut [u8], size: (u32, u32)) -> Self {
        Canvas(BitMapBackend::with_buffer(rgb, size))
    }
}

type Res = Result<(), DrawingErrorKind<BitMapBackendError>>;

impl DrawingBackend for Canvas<'_> {
    type ErrorType = BitMapBackendError;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }
    fn ensure_prepared(&mut self) -> Res {
        self.0.ensure_prepared()
    }
    fn present(&mut self) -> Res {
        self.0.present()
    }
    fn draw_pixel(&mut self, p: BackendCoord, c: BackendColor) -> Res {
        self.0.draw_pixel(p, c)
    }
    fn draw_line<S: BackendStyle>(&mut self, a: BackendCoord, b: BackendCoord, s: &S) -> Res {
        self.0.draw_line(a, b, s)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        a: BackendCoord,
        b: BackendCoord,
        s: &S,
        fill: bool,
    ) -> Res {
        self.0.draw_rect(a, b, s, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        s: &S,
    ) -> Res {
        self.0.draw_path(path, s)
    }
    fn draw_circle<S: BackendStyle>(&mut self, c: BackendCoord, r: u32, s: &S, fill: bool) -> Res {
        self.0.draw_circle(c, r, s, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        s: &S,
    ) -> Res {
        self.0.fill_polygon(vert, s)
    }
    fn blit_bitmap(&mut self, pos: BackendCoord, (w, h): (u32, u32), src: &[u8]) -> Res {
        self.0.blit_bitmap(pos, (w, h), src)
    }

    /// Sets `text` in DejaVu Sans with kerning and side bearings. The anchor box is the one
    /// plotters lays out with (advance width × size / 1.24); capitals sit centred in it.
    fn draw_text<T: BackendTextStyle>(&mut self, text: &str, style: &T, pos: BackendCoord) -> Res {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let size = style.size();
        let font = dejavu().as_scaled(PxScale::from(size as f32));
        let mut glyphs = Vec::new();
        let mut pen = 0.0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(font.scale(), point(pen, 0.0)));
            pen += font.h_advance(id);
            prev = Some(id);
        }
        let (width, height) = (pen as f64, size / 1.24);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let top = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let baseline = top + (height + CAP * size) / 2.0;
        let trans = style.transform();
        let mut result = Ok(());
        for g in glyphs {
            let Some(outline) = dejavu().outline_glyph(g) else {
                continue;
            };
            let b = outline.px_bounds();
            outline.draw(|x, y, cov| {
                let ox = (dx + b.min.x as f64).round() as i32 + x as i32;
                let oy = (baseline + b.min.y as f64).round() as i32 + y as i32;
                let (tx, ty) = trans.transform(ox, oy);
                let c = BackendColor {
                    alpha: colour.alpha * cov.min(1.0) as f64,
                    rgb: colour.rgb,
                };
                if result.is_ok() && cov > 0.0 {
                    result = self.0.draw_pixel((pos.0 + tx, pos.1 + ty), c);
                }
            });
        }
        result
    }
}
