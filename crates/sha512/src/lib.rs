#![doc = include_str!("../README.md")]

mod algorithm;
mod digest;
mod dynamic;
mod hash;
mod hmac;

pub use crate::algorithm::{Algorithm, ParseAlgorithmError};
pub use crate::digest::{Digest, DynDigest};
pub use crate::dynamic::DynHasher;
pub use crate::hash::{Sha384, Sha512, Sha512_224, Sha512_256};
pub use crate::hmac::{HmacSha384, HmacSha512, HmacSha512_224, HmacSha512_256};
