//! What a trained model says about the paper's claim and its own limits: the IFT check
//! (rank of ∂φ/∂z, the loss Hessian in z), the capacity ladder (what caps PSNR) and maps
//! of the latent space.

pub mod capacity;
pub mod ift;
pub mod latent_map;
