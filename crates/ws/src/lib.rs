//! Sans-IO WebSocket codec (placeholder while the crate is written).
