//! permessage-deflate negotiation (RFC 7692 §5, §7) — being written.
