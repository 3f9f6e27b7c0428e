//! Writes a synthetic model file (seeded random int8 weights, real shapes).
//!
//! ```text
//! cargo run -p hyperinr-tests --bin hyperinr-synthetic-model -- [fashion-mnist|fashion-mnist-silu-linear|point-cloud] OUT.hinr
//! ```

use hyperinr_tests::synthetic::{model_bytes, Spec};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, out) = match args.as_slice() {
        [kind, out] => (kind.as_str(), out.as_str()),
        _ => {
            eprintln!(
                "usage: hyperinr-synthetic-model fashion-mnist|fashion-mnist-silu-linear|point-cloud OUT.hinr"
            );
            return ExitCode::from(2);
        }
    };
    let spec = match kind {
        "fashion-mnist" => Spec::fashion_mnist(),
        "fashion-mnist-silu-linear" => Spec::fashion_mnist_silu_linear(),
        "point-cloud" => Spec::point_cloud(),
        other => {
            eprintln!(
                "unknown kind `{other}`: fashion-mnist, fashion-mnist-silu-linear or point-cloud"
            );
            return ExitCode::from(2);
        }
    };
    let bytes = model_bytes(&spec);
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!("wrote {out}: {} bytes ({})", bytes.len(), spec.dataset);
    ExitCode::SUCCESS
}
