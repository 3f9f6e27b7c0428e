//! Runs a firmware ELF in QEMU, prints its decoded defmt log and a summary of its results
//! file; exits with the firmware's status. A stand-in for `defmt-print`:
//!
//! ```text
//! cargo run -p hyperinr-tests --bin hyperinr-qemu -- [--machine mps2-an386|netduinoplus2] ELF
//! ```

use hyperinr_tests::firmware::{run, Firmware, Machine};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let mut machine = Machine::Mps2An386;
    let mut elf = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--machine" => match args.next().as_deref() {
                Some("mps2-an386") => machine = Machine::Mps2An386,
                Some("netduinoplus2") => machine = Machine::Netduinoplus2,
                other => {
                    eprintln!("unknown machine {other:?}: mps2-an386 or netduinoplus2");
                    return ExitCode::from(2);
                }
            },
            _ if elf.is_none() => elf = Some(PathBuf::from(a)),
            _ => {
                eprintln!("usage: hyperinr-qemu [--machine mps2-an386|netduinoplus2] ELF");
                return ExitCode::from(2);
            }
        }
    }
    let Some(elf) = elf else {
        eprintln!("usage: hyperinr-qemu [--machine mps2-an386|netduinoplus2] ELF");
        return ExitCode::from(2);
    };
    let fw = Firmware {
        name: "manual".into(),
        machine,
        elf,
    };
    let r = match run(&fw, Duration::from_secs(600)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for line in &r.log {
        println!("{line}");
    }
    if !r.stderr.is_empty() {
        eprintln!("qemu stderr: {}", r.stderr.trim_end());
    }
    match &r.results {
        Some(res) => {
            println!("--- results file");
            for (stage, text) in &res.errors {
                println!("error ({stage:?}): {text}");
            }
            if let Some((correct, count)) = res.accuracy {
                println!("accuracy: {correct}/{count}");
            }
            for name in ["DECO", "CLAS", "REND"] {
                if let (Some(t), Some(insns)) = (res.tick(name), res.instructions(name)) {
                    let per_mac = if t.work > 0 {
                        insns as f64 / t.work as f64
                    } else {
                        0.0
                    };
                    println!(
                        "{name}: {insns} instructions, {} MACs, {per_mac:.2} instructions/MAC",
                        t.work
                    );
                }
            }
            if let (Some(t), Some(insns)) = (res.tick("SINE"), res.instructions("SINE")) {
                println!(
                    "SINE: {:.0} instructions per call",
                    insns as f64 / t.work.max(1) as f64
                );
            }
            if let Some((used, size)) = res.stack {
                println!("stack: {used} of {size} bytes");
            }
        }
        None => println!(
            "--- no results file: {}",
            r.results_error.unwrap_or_default()
        ),
    }
    println!(
        "exit status: {:?} ({:.2} s)",
        r.status,
        r.elapsed.as_secs_f64()
    );
    match r.status {
        Some(0) => ExitCode::SUCCESS,
        Some(s) => ExitCode::from(s.clamp(1, 255) as u8),
        None => ExitCode::FAILURE,
    }
}
