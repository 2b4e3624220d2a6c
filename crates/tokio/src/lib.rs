#![doc = include_str!("../README.md")]

mod error;
pub mod ws;

pub use error::Error;
pub use sockeye_ws;
