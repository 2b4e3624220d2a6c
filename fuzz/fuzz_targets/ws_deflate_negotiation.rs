#![no_main]
//! permessage-deflate negotiation (RFC 7692 §7.1) over arbitrary `Sec-WebSocket-Extensions`
//! values. The first four bytes pick a server and a client configuration; the rest is the
//! header value. Oracles beyond "no panic":
//!
//! - as the client's offers: the server accepts exactly the first offer `answer_offer`
//!   accepts; its answer formats and parses back to itself, and is valid for that offer
//!   (`check_response`) with the same parameters, windows within 8–15 and the server's
//!   limit; nothing is accepted when every offer is declined;
//! - as the server's answer: the client's parameters stay within what it offered;
//! - our own client's offers, with these configurations: always accepted, and both ends
//!   compute the same parameters.
use libfuzzer_sys::fuzz_target;
use sockeye_ws::deflate::negotiate::{
    DeflateConfig, EXTENSION_NAME, answer_offer, check_response, client_offers, negotiate_client,
    negotiate_server,
};
use sockeye_ws::handshake::ExtensionOffer;

/// A valid configuration from two bytes: flags, then both windows (8 + 3 bits each).
fn config(flags: u8, windows: u8) -> DeflateConfig {
    DeflateConfig::builder()
        .server_no_context_takeover(flags & 1 != 0)
        .client_no_context_takeover(flags & 2 != 0)
        .require_client_max_window_bits(flags & 4 != 0)
        .fallback_offer(flags & 8 != 0)
        .server_max_window_bits(8 + (windows & 7))
        .client_max_window_bits(8 + ((windows >> 4) & 7))
        .build()
        .expect("windows 8-15 and default levels are valid")
}

fuzz_target!(|data: &[u8]| {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let server = config(byte(0), byte(1));
    let client = config(byte(2), byte(3));
    let value = data.get(4..).unwrap_or_default();

    // Our own ends always agree, whatever their configurations.
    let offers = client_offers(&client);
    let agreement =
        negotiate_server(&offers, &server).expect("our client's main offer is acceptable");
    let answer = ExtensionOffer::parse_list(agreement.response.to_string())
        .expect("our answer is well-formed");
    assert_eq!(
        negotiate_client(&answer, &client),
        Ok(Some(agreement.params)),
        "our client refuses our server's answer {}",
        agreement.response
    );

    let Ok(elements) = ExtensionOffer::parse_list(value) else {
        return;
    };

    // The value as a client's offers.
    let first_ok = elements
        .iter()
        .filter(|o| o.name == EXTENSION_NAME)
        .find_map(|o| answer_offer(o, &server).ok().map(|a| (o, a)));
    let agreement = negotiate_server(&elements, &server);
    assert_eq!(agreement.as_ref(), first_ok.as_ref().map(|(_, a)| a));
    if let Some((offer, agreement)) = first_ok {
        let p = agreement.params;
        assert!((8..=15).contains(&p.server_max_window_bits));
        assert!((8..=15).contains(&p.client_max_window_bits));
        assert!(p.server_max_window_bits <= server.server_max_window_bits());
        let text = agreement.response.to_string();
        let answer = ExtensionOffer::parse_list(&text).expect("our answer is well-formed");
        assert_eq!(answer, [agreement.response.clone()], "{text}");
        assert_eq!(
            check_response(&agreement.response, offer),
            Ok(p),
            "answer {text} refused for offer {offer}"
        );
    }

    // The value as a server's answer.
    if let Ok(Some(p)) = negotiate_client(&elements, &client) {
        assert!((8..=15).contains(&p.server_max_window_bits));
        assert!(p.client_max_window_bits <= client.client_max_window_bits());
        assert!(p.client_no_context_takeover >= client.client_no_context_takeover());
        if !client.fallback_offer() {
            assert!(p.server_max_window_bits <= client.server_max_window_bits());
            assert!(p.server_no_context_takeover >= client.server_no_context_takeover());
        }
    }
});
