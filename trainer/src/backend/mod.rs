//! Backend choice at run time: burn-ndarray or burn-flex on the CPU; burn-cuda with the `cuda`
//! feature, fused (burn's default `Cuda`) or without fusion (the plain cubecl backend).

pub mod cubecl;
pub mod siren_kernel;
pub mod siren_op;

/// The backends `--backend` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// burn-ndarray (+ autodiff) on the CPU.
    Cpu,
    /// burn-flex (+ autodiff) on the CPU: gemm-based, SIMD.
    Flex,
    /// burn-cuda (+ autodiff), with burn's operation fusion; needs the `cuda` cargo feature and
    /// an NVIDIA GPU.
    Cuda,
    /// burn-cuda (+ autodiff) without fusion: one kernel per tensor operation.
    CudaNofusion,
}

/// CPU training backend.
pub type CpuBackend = burn::backend::Autodiff<burn::backend::NdArray<f32>>;
/// CPU training backend on burn-flex.
pub type FlexBackend = burn::backend::Autodiff<burn::backend::Flex>;
/// CUDA training backend (burn's `Cuda`: `Fusion<CubeBackend<CudaRuntime, f32, i32, u8>>`).
#[cfg(feature = "cuda")]
pub type CudaBackend = burn::backend::Autodiff<burn::backend::Cuda<f32>>;
/// CUDA training backend without fusion: the type burn-cuda 0.21 calls `Cuda` when its
/// `fusion` feature is off.
#[cfg(feature = "cuda")]
pub type CudaNoFusionBackend = burn::backend::Autodiff<
    burn_cubecl::CubeBackend<burn_cubecl::cubecl::cuda::CudaRuntime, f32, i32, u8>,
>;

/// Everything a CUDA backend needs before its device is first used: the driver libraries.
/// cubecl configures itself on first use (`cubecl.toml` at or above the working directory,
/// `CUBECL_*` variables; see `backend::cubecl`).
#[cfg(feature = "cuda")]
pub fn prepare_cuda() -> anyhow::Result<()> {
    check_cuda()
}

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
                $crate::backend::prepare_cuda()?;
                let device = Default::default();
                $f::<$crate::backend::CudaBackend>(&device, $($arg),*)
            }
            #[cfg(feature = "cuda")]
            $crate::backend::BackendKind::CudaNofusion => {
                $crate::backend::prepare_cuda()?;
                let device = Default::default();
                $f::<$crate::backend::CudaNoFusionBackend>(&device, $($arg),*)
            }
            #[cfg(not(feature = "cuda"))]
            $crate::backend::BackendKind::Cuda | $crate::backend::BackendKind::CudaNofusion => anyhow::bail!(
                "this binary was built without the `cuda` feature: cargo build --release -p hyperinr-trainer --features cuda"
            ),
        }
    }};
}
pub(crate) use dispatch;
