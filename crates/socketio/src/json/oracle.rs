//! The serde-visitor payload check that `check_payload` replaced, kept as the oracle of the
//! differential tests: the byte scanner must accept and reject exactly what this accepts and
//! rejects, with the same error and event name.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::RESERVED_EVENTS;
use crate::packet::{DecodeError, EventName, PacketType};

/// Checks `json` as the payload of a `kind` packet with `attachments` binary attachments.
/// Returns the event name for (binary) events.
pub(super) fn check_payload(
    kind: PacketType,
    json: &[u8],
    attachments: usize,
) -> Result<Option<EventName>, DecodeError> {
    let fault = Cell::new(None);
    let binary = matches!(kind, PacketType::BinaryEvent | PacketType::BinaryAck);
    let top = Top {
        kind,
        walk: Walk {
            attachments: binary.then_some(attachments),
            fault: &fault,
        },
    };
    let mut de = serde_json::Deserializer::from_slice(json);
    let result = top
        .deserialize(&mut de)
        .and_then(|event| de.end().map(|()| event));
    match result {
        Ok(event) => Ok(event),
        Err(e) => Err(fault.take().unwrap_or(if e.is_data() {
            DecodeError::InvalidPayload
        } else {
            DecodeError::InvalidJson
        })),
    }
}

/// The top-level value: its JSON type must suit the packet type.
struct Top<'a> {
    kind: PacketType,
    walk: Walk<'a>,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Option<EventName>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Top<'_> {
    fn refuse<E: de::Error>(&self) -> E {
        self.walk.fault.set(Some(DecodeError::InvalidPayload));
        E::custom("invalid payload")
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Option<EventName>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Socket.IO payload")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        match self.kind {
            PacketType::Connect | PacketType::ConnectError => {
                self.walk.visit_map(map)?;
                Ok(None)
            }
            _ => Err(self.refuse()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        match self.kind {
            PacketType::Event | PacketType::BinaryEvent => {
                let fault = self.walk.fault;
                let Some(name) = seq.next_element_seed(First { fault })? else {
                    return Err(self.refuse());
                };
                while seq.next_element_seed(self.walk.clone())?.is_some() {}
                Ok(Some(name))
            }
            PacketType::Ack | PacketType::BinaryAck => {
                while seq.next_element_seed(self.walk.clone())?.is_some() {}
                Ok(None)
            }
            _ => Err(self.refuse()),
        }
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        match self.kind {
            PacketType::ConnectError => Ok(None),
            _ => Err(self.refuse()),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(self.refuse())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(self.refuse())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(self.refuse())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(self.refuse())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(self.refuse())
    }
}

/// The first element of an event: a string that is not reserved, or a number.
struct First<'a> {
    fault: &'a Cell<Option<DecodeError>>,
}

impl First<'_> {
    fn refuse<E: de::Error>(&self, error: DecodeError) -> E {
        self.fault.set(Some(error));
        E::custom("invalid event name")
    }
}

impl<'de> DeserializeSeed<'de> for First<'_> {
    type Value = EventName;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for First<'_> {
    type Value = EventName;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if RESERVED_EVENTS.contains(&v) {
            return Err(self.refuse(DecodeError::ReservedEvent(v.to_owned())));
        }
        Ok(EventName::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        if RESERVED_EVENTS.contains(&v.as_str()) {
            return Err(self.refuse(DecodeError::ReservedEvent(v)));
        }
        Ok(EventName::Text(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(EventName::Number(v.into()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(EventName::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        match serde_json::Number::from_f64(v) {
            Some(n) => Ok(EventName::Number(n)),
            None => Err(self.refuse(DecodeError::InvalidPayload)),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(self.refuse(DecodeError::InvalidPayload))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(self.refuse(DecodeError::InvalidPayload))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.refuse(DecodeError::InvalidPayload))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.refuse(DecodeError::InvalidPayload))
    }
}

/// Any value. With `attachments` set (binary packets), every object with
/// `"_placeholder": true` must have an integer `num` in `[0, attachments)`, as the patched
/// reference reconstructor requires (CVE-2022-2421); without, values are only skipped.
#[derive(Clone)]
struct Walk<'a> {
    attachments: Option<usize>,
    fault: &'a Cell<Option<DecodeError>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.attachments.is_none() {
            return serde::Deserialize::deserialize(d).map(|_: IgnoredAny| ());
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self.clone())?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut placeholder = false;
        let mut num: Option<Num> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key {
                Key::Placeholder => placeholder = map.next_value_seed(IsTrue)?,
                Key::Num => num = Some(map.next_value_seed(NumSeed)?),
                Key::Other => map.next_value_seed(self.clone())?,
            }
        }
        if placeholder && let Some(attachments) = self.attachments {
            let valid = matches!(num, Some(Num::Index(n)) if n < attachments as u64);
            if !valid {
                self.fault.set(Some(DecodeError::IllegalPlaceholder));
                return Err(de::Error::custom("illegal attachments"));
            }
        }
        Ok(())
    }
}

enum Key {
    Placeholder,
    Num,
    Other,
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "_placeholder" => Key::Placeholder,
            "num" => Key::Num,
            _ => Key::Other,
        })
    }
}

/// `true` exactly when the value is the JSON literal `true`.
struct IsTrue;

impl<'de> DeserializeSeed<'de> for IsTrue {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IsTrue {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

/// A placeholder's `num`: a non-negative integer, or anything else.
enum Num {
    Index(u64),
    Invalid,
}

struct NumSeed;

impl<'de> DeserializeSeed<'de> for NumSeed {
    type Value = Num;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Num, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NumSeed {
    type Value = Num;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
        Ok(Num::Index(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
        Ok(u64::try_from(v).map_or(Num::Invalid, Num::Index))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
        // `1.0` is an integer to JavaScript.
        if v.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&v) {
            Ok(Num::Index(v as u64))
        } else {
            Ok(Num::Invalid)
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
        Ok(Num::Invalid)
    }

    fn visit_str<E>(self, _: &str) -> Result<Num, E> {
        Ok(Num::Invalid)
    }

    fn visit_unit<E>(self) -> Result<Num, E> {
        Ok(Num::Invalid)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Num, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Num::Invalid)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Num::Invalid)
    }
}
