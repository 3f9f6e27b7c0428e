//! Backend choice at run time: burn-ndarray on the CPU, burn-cuda with the `cuda` feature.

/// The backends `--backend` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// burn-ndarray (+ autodiff) on the CPU.
    Cpu,
    /// burn-flex (+ autodiff) on the CPU: gemm-based, SIMD.
    Flex,
    /// burn-cuda (+ autodiff); needs the `cuda` cargo feature and an NVIDIA GPU.
    Cuda,
}

/// CPU training backend.
pub type CpuBackend = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
/// CPU training backend on burn-flex.
pub type FlexBackend = burn::backend::Autodiff<burn::backend::Flex>;
/// CUDA training backend.
#[cfg(feature = "cuda")]
pub type CudaBackend = burn::backend::Autodiff<burn::backend::Cuda<f32>>;

/// Checks that the CUDA driver and NVRTC libraries can be loaded, so that a missing GPU
/// gives a message instead of a panic in a worker thread.
#[cfg(feature = "cuda")]
pub fn check_cuda() -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for (what, names) in [
        ("CUDA driver (libcuda)", &["libcuda.so.1", "libcuda.so"][..]),
        (
            "NVRTC (libnvrtc)",
            &["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"][..],
        ),
    ] {
        // SAFETY: loading a shared library runs its initialisers; these are NVIDIA's
        // libraries that burn-cuda would load anyway.
        let found = names
            .iter()
            .any(|n| unsafe { libloading::Library::new(n) }.is_ok());
        if !found {
            missing.push(format!("{what}: none of {names:?} loads"));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "the cuda backend cannot start: {}. Install the NVIDIA driver and CUDA toolkit, or set LD_LIBRARY_PATH (e.g. /usr/local/cuda/targets/x86_64-linux/lib), or use --backend cpu",
            missing.join("; ")
        )
    }
}

/// Calls `$f::<Backend>(&device, args...)` for the chosen backend.
macro_rules! dispatch {
    ($kind:expr, $f:ident, $($arg:expr),*) => {{
        match $kind {
            $crate::backend::BackendKind::Cpu => {
                let device = Default::default();
                $f::<$crate::backend::CpuBackend>(&device, $($arg),*)
            }
            $crate::backend::BackendKind::Flex => {
                let device = Default::default();
                $f::<$crate::backend::FlexBackend>(&device, $($arg),*)
            }
            #[cfg(feature = "cuda")]
            $crate::backend::BackendKind::Cuda => {
                $crate::backend::check_cuda()?;
                let device = Default::default();
                $f::<$crate::backend::CudaBackend>(&device, $($arg),*)
            }
            #[cfg(not(feature = "cuda"))]
            $crate::backend::BackendKind::Cuda => anyhow::bail!(
                "this binary was built without the `cuda` feature: cargo build --release -p hyperinr-trainer --features cuda"
            ),
        }
    }};
}
pub(crate) use dispatch;
