//! Streaming UTF-8 validation that fails on the first byte that can no longer be valid.
//!
//! Autobahn 6.4.1–6.4.4 send invalid text in pieces (across fragments, and inside one frame
//! that is still arriving) and expect the connection to fail as soon as the bad byte arrives
//! (RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the
//! byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_"). Validation runs on each piece as it arrives with `simdutf8`; only the
//! bytes of a code point cut by a piece boundary (at most 3) are carried to the next piece.

/// Incremental validator state: the bytes of a code point that the previous piece cut off.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

/// The input can never become valid UTF-8, whatever follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

impl Utf8Validator {
    /// Validates the next piece of the stream.
    ///
    /// Returns `Err` as soon as the bytes seen so far cannot be the prefix of valid UTF-8.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let need = sequence_len(self.partial[0]).ok_or(InvalidUtf8)?;
            let take = (need - have).min(data.len());
            let (head, rest) = data.split_at(take);
            self.partial[have..have + take].copy_from_slice(head);
            let filled = have + take;
            match std::str::from_utf8(&self.partial[..filled]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix; `data` is exhausted.
                    self.partial_len = filled as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            data = rest;
        }
        // Short all-ASCII pieces need no validator call (simdutf8 hands anything
        // under 64 bytes to core::str::from_utf8); longer ones try the faster `basic`
        // validator first and only run `compat` (which locates an error) on failure.
        if data.len() < 64 {
            let mut acc = 0u8;
            for b in data {
                acc |= b;
            }
            if acc < 0x80 {
                return Ok(());
            }
        } else {
            // Text arrives in pieces, so a character is often cut by the end of one: validate
            // the part before it with `basic`, and the cut part on its own.
            let (whole, tail) = data.split_at(data.len() - incomplete_tail(data));
            if simdutf8::basic::from_utf8(whole).is_ok()
                && (tail.is_empty()
                    || std::str::from_utf8(tail).is_err_and(|e| e.error_len().is_none()))
            {
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                return Ok(());
            }
        }
        match simdutf8::compat::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // A code point cut by the end of the piece, but a valid prefix so far.
                let tail = data.get(e.valid_up_to()..).unwrap_or_default();
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// How many bytes the code point cut off by the previous piece still needs: 0 when none
    /// is (the next piece starts on a character boundary).
    pub(crate) fn pending(&self) -> usize {
        match self.partial_len {
            0 => 0,
            have => sequence_len(self.partial[0]).map_or(0, |need| need - usize::from(have)),
        }
    }

    /// Takes the next piece, of which `data[skip..data.len() - tail]` is already known to be
    /// valid UTF-8 (whole characters): `skip` must be [`pending`](Self::pending) (the bytes
    /// that end a character cut off before), `tail` the bytes at the end that start one cut
    /// off by the end of this piece. Only the `skip` and `tail` bytes are looked at.
    pub(crate) fn feed_checked(
        &mut self,
        data: &[u8],
        skip: usize,
        tail: usize,
    ) -> Result<(), InvalidUtf8> {
        let (Some(head), Some(rest)) = (data.get(..skip), data.len().checked_sub(tail)) else {
            return self.feed(data);
        };
        self.feed(head)?;
        if !self.is_clean() || rest < skip {
            // `skip` was not what the cut character needed: judge the piece as a whole.
            return self.feed(&data[skip..]);
        }
        // A few bytes (the start of a character cut off, if `tail` is right), on a validator
        // that is clean: judged exactly whatever they are.
        self.feed(&data[rest..])
    }

    /// Ends the stream: a code point still cut off is invalid. Resets the validator.
    pub(crate) fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }

    /// Whether no code point is cut off: the next piece starts on a character boundary.
    pub(crate) fn is_clean(&self) -> bool {
        self.partial_len == 0
    }

    /// Forgets any partial code point.
    pub(crate) fn reset(&mut self) {
        self.partial_len = 0;
    }
}

/// How many bytes at the end of `data` start a character that does not end there: 0 when
/// the last character is whole (or the end is not UTF-8 anyway), else 1 to 3.
pub(crate) fn incomplete_tail(data: &[u8]) -> usize {
    for k in 1..=data.len().min(3) {
        let b = data[data.len() - k];
        if b & 0xc0 == 0x80 {
            // A continuation byte: the lead is further back.
            continue;
        }
        return match sequence_len(b) {
            Some(need) if need > k => k,
            _ => 0,
        };
    }
    0
}

/// Length of the sequence a lead byte starts, or `None` for a byte that cannot lead one.
fn sequence_len(lead: u8) -> Option<usize> {
    match lead {
        0x00..=0x7f => Some(1),
        0xc2..=0xdf => Some(2),
        0xe0..=0xef => Some(3),
        0xf0..=0xf4 => Some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::default();
        for p in pieces {
            v.feed(p)?;
        }
        v.finish()
    }

    #[test]
    fn cut_code_points_are_carried() {
        let s = "κόσμε €𝄞".as_bytes();
        for i in 0..=s.len() {
            for j in i..=s.len() {
                assert_eq!(feed_all(&[&s[..i], &s[i..j], &s[j..]]), Ok(()), "{i} {j}");
            }
        }
    }

    #[test]
    fn fails_on_the_first_impossible_byte() {
        // Autobahn 6.4.3: a code point above U+10FFFF is invalid at its second byte.
        let mut v = Utf8Validator::default();
        assert_eq!(
            v.feed(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
            Ok(())
        );
        assert_eq!(v.feed(b"\xf4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
        // A surrogate half is invalid at its second byte too.
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xed"), Ok(()));
        assert_eq!(v.feed(b"\xa0"), Err(InvalidUtf8));
    }

    #[test]
    fn long_pieces_cut_inside_a_character() {
        // Pieces of 64 bytes and more go through `basic` first; a cut character at the end
        // is carried over, whatever piece boundary the cut falls on.
        let s = "κόσμε €𝄞 ".repeat(20);
        let b = s.as_bytes();
        for cut in 64..b.len() - 64 {
            assert_eq!(feed_all(&[&b[..cut], &b[cut..]]), Ok(()), "{cut}");
        }
        // An invalid byte before the cut still fails in that piece.
        let mut bad = b.to_vec();
        bad[10] = 0xff;
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(&bad[..b.len() - 1]), Err(InvalidUtf8));
        // An impossible start of a character at the end fails at once.
        let mut v = Utf8Validator::default();
        let mut piece = b"a".repeat(70);
        piece.extend_from_slice(b"\xe0\x80");
        assert_eq!(v.feed(&piece), Err(InvalidUtf8));
    }

    #[test]
    fn truncated_stream_is_invalid_at_finish() {
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"a\xe2\x82"), Ok(()));
        assert_eq!(v.finish(), Err(InvalidUtf8));
        // finish resets
        assert_eq!(v.feed(b"ok"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    proptest! {
        #[test]
        fn any_split_agrees_with_std(
            data in proptest::collection::vec(any::<u8>(), 0..64),
            cuts in proptest::collection::vec(0usize..64, 0..6),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut start = 0;
            for c in cuts {
                pieces.push(&data[start..c]);
                start = c;
            }
            pieces.push(&data[start..]);
            prop_assert_eq!(feed_all(&pieces).is_ok(), std::str::from_utf8(&data).is_ok());
        }

        #[test]
        fn valid_strings_pass_in_any_split(s in "\\PC{0,40}", cut in 0usize..200) {
            let b = s.as_bytes();
            let cut = cut.min(b.len());
            prop_assert_eq!(feed_all(&[&b[..cut], &b[cut..]]), Ok(()));
        }
    }
}
