//! Typed arguments: an event's array deserialized straight into the caller's type.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, IgnoredAny, SeqAccess, Visitor};

/// Skips `skip` leading elements (the event name), hands the rest of the sequence to `T`,
/// and drains whatever `T` did not take.
pub(crate) struct ArgsVisitor<T> {
    skip: usize,
    marker: PhantomData<T>,
}

impl<T> ArgsVisitor<T> {
    pub(crate) fn new(skip: usize) -> Self {
        Self {
            skip,
            marker: PhantomData,
        }
    }
}

/// A sequence access that forwards to the real one and remembers nothing; it lets `T`
/// consume elements while the outer visitor keeps ownership to drain the rest.
struct Forward<'s, A> {
    inner: &'s mut A,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Forward<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Self::Error> {
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, T: de::Deserialize<'de>> Visitor<'de> for ArgsVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of arguments")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        for _ in 0..self.skip {
            seq.next_element::<IgnoredAny>()?;
        }
        let value = T::deserialize(SeqAccessDeserializer::new(Forward { inner: &mut seq }))?;
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(value)
    }
}
