//! Orthographic views of point clouds, the tiles of shape grids and shape strips.

/// Side of one orthographic projection panel, pixels.
pub const PANEL: usize = 96;

/// Draws `points` (`N × 3`, unit-sphere coordinates) into a `PANEL × PANEL` grayscale panel,
/// projected along `axis` (0 = x, 1 = y, 2 = z): white on black, brighter where nearer the
/// viewer, so depth reads at a glance. The view spans [-1.1, 1.1] on both screen axes; points
/// outside it are left out.
pub fn projection(points: &[f32], axis: usize) -> Vec<u8> {
    let (u, v) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let mut px = vec![0u8; PANEL * PANEL];
    let to_px = |c: f32| (((c + 1.1) / 2.2) * PANEL as f32).floor() as i64;
    for p in points.chunks_exact(3) {
        let (x, y) = (to_px(p[u]), PANEL as i64 - 1 - to_px(p[v]));
        if (0..PANEL as i64).contains(&x) && (0..PANEL as i64).contains(&y) {
            let depth = ((p[axis] + 1.1) / 2.2).clamp(0.0, 1.0);
            let shade = (90.0 + 165.0 * depth) as u8;
            let cell = &mut px[y as usize * PANEL + x as usize];
            *cell = (*cell).max(shade);
        }
    }
    px
}
