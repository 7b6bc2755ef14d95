//! Declared encodings: a record's fields listed once, with the bound each is read under.
//!
//! The first modules wrote `Write`, `EncodeSize` and `Read` by hand for every type, three
//! places to keep in step per field. Public money and procurement have many more records, so
//! [`codec_struct!`](crate::codec_struct) and [`codec_enum!`](crate::codec_enum) generate the
//! three from one list of `field: bound` pairs. The encoding is the same the hand-written code
//! uses: fixed-width big-endian integers, varint-prefixed strings and lists, a tag byte per
//! enum variant, and a presence byte (0 or 1) before an optional value.

use crate::codec::{read_str, str_size, write_str};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, RangeCfg, Read, ReadExt, Write};

/// A value with a canonical encoding, read under an explicit bound.
pub trait Field: Sized {
    /// What limits a read: `()` for fixed-size values, the most bytes for text, the most
    /// items (and each item's bound) for lists.
    type Bound: Copy;
    /// Writes the canonical encoding.
    fn put(&self, buf: &mut impl BufMut);
    /// Length of the canonical encoding.
    fn size(&self) -> usize;
    /// Reads a value, failing on anything beyond `bound` before allocating for it.
    fn take(buf: &mut impl Buf, bound: Self::Bound) -> Result<Self, commonware_codec::Error>;
}

/// `Field` for types whose commonware codec needs no configuration.
macro_rules! plain_fields {
    ($($ty:ty),* $(,)?) => {$(
        impl Field for $ty {
            type Bound = ();
            fn put(&self, buf: &mut impl BufMut) {
                Write::write(self, buf);
            }
            fn size(&self) -> usize {
                EncodeSize::encode_size(self)
            }
            fn take(buf: &mut impl Buf, _: ()) -> Result<Self, commonware_codec::Error> {
                <$ty as ReadExt>::read(buf)
            }
        }
    )*};
}

plain_fields!(
    u8,
    u16,
    u32,
    u64,
    u128,
    crate::hash::Hash32,
    crate::crypto::AccountId,
    crate::crypto::PublicKey,
    crate::seal::EncryptionKey,
);

impl Field for bool {
    type Bound = ();
    fn put(&self, buf: &mut impl BufMut) {
        u8::from(*self).write(buf);
    }
    fn size(&self) -> usize {
        1
    }
    fn take(buf: &mut impl Buf, _: ()) -> Result<Self, commonware_codec::Error> {
        match u8::read(buf)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(commonware_codec::Error::Invalid("bool", "must be 0 or 1")),
        }
    }
}

impl Field for crate::time::TimestampMs {
    type Bound = ();
    fn put(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
    fn size(&self) -> usize {
        8
    }
    fn take(buf: &mut impl Buf, _: ()) -> Result<Self, commonware_codec::Error> {
        Ok(Self(u64::read(buf)?))
    }
}

impl Field for String {
    /// The most bytes of UTF-8.
    type Bound = usize;
    fn put(&self, buf: &mut impl BufMut) {
        write_str(self, buf);
    }
    fn size(&self) -> usize {
        str_size(self)
    }
    fn take(buf: &mut impl Buf, max_bytes: usize) -> Result<Self, commonware_codec::Error> {
        read_str(buf, max_bytes)
    }
}

impl<T: Field> Field for Vec<T> {
    /// The most items, and each item's bound.
    type Bound = (usize, T::Bound);
    fn put(&self, buf: &mut impl BufMut) {
        self.len().write(buf);
        for item in self {
            item.put(buf);
        }
    }
    fn size(&self) -> usize {
        self.len().encode_size() + self.iter().map(Field::size).sum::<usize>()
    }
    fn take(buf: &mut impl Buf, bound: Self::Bound) -> Result<Self, commonware_codec::Error> {
        let count = usize::read_cfg(buf, &RangeCfg::new(..=bound.0))?;
        // Each item takes at least one byte: never reserve more than what is left.
        let mut items = Vec::with_capacity(count.min(buf.remaining()));
        for _ in 0..count {
            items.push(T::take(buf, bound.1)?);
        }
        Ok(items)
    }
}

impl<T: Field> Field for Option<T> {
    type Bound = T::Bound;
    fn put(&self, buf: &mut impl BufMut) {
        match self {
            None => 0u8.write(buf),
            Some(value) => {
                1u8.write(buf);
                value.put(buf);
            }
        }
    }
    fn size(&self) -> usize {
        1 + self.as_ref().map_or(0, Field::size)
    }
    fn take(buf: &mut impl Buf, bound: T::Bound) -> Result<Self, commonware_codec::Error> {
        match u8::read(buf)? {
            0 => Ok(None),
            1 => Ok(Some(T::take(buf, bound)?)),
            _ => Err(commonware_codec::Error::Invalid("option", "must be 0 or 1")),
        }
    }
}

/// Implements `Write`, `EncodeSize`, `Read` and [`Field`] for a struct from its fields in
/// encoding order, each with the bound it is read under.
///
/// ```ignore
/// codec_struct!(Vendor { account: (), name: NAME_MAX_BYTES, active: () });
/// ```
#[macro_export]
macro_rules! codec_struct {
    ($ty:ident { $($field:ident : $bound:expr),* $(,)? }) => {
        impl ::commonware_codec::Write for $ty {
            fn write(&self, buf: &mut impl ::bytes::BufMut) {
                $( $crate::fields::Field::put(&self.$field, buf); )*
            }
        }
        impl ::commonware_codec::EncodeSize for $ty {
            fn encode_size(&self) -> usize {
                0 $( + $crate::fields::Field::size(&self.$field) )*
            }
        }
        impl ::commonware_codec::Read for $ty {
            type Cfg = ();
            fn read_cfg(
                buf: &mut impl ::commonware_codec::Buf,
                _: &(),
            ) -> Result<Self, ::commonware_codec::Error> {
                Ok(Self { $( $field: $crate::fields::Field::take(buf, $bound)?, )* })
            }
        }
        $crate::codec_field!($ty);
    };
}

/// Implements `Write`, `EncodeSize`, `Read` and [`Field`] for an enum: a tag byte, then the
/// variant's fields in order. Variants are written with braces, also when they have no fields.
///
/// ```ignore
/// codec_enum!(Stage { 0 => Planned {}, 1 => Awarded { bidder: () } });
/// ```
#[macro_export]
macro_rules! codec_enum {
    ($ty:ident { $($tag:literal => $variant:ident { $($field:ident : $bound:expr),* $(,)? }),* $(,)? }) => {
        impl ::commonware_codec::Write for $ty {
            fn write(&self, buf: &mut impl ::bytes::BufMut) {
                match self {
                    $(Self::$variant { $($field),* } => {
                        ::commonware_codec::Write::write(&($tag as u8), buf);
                        $( $crate::fields::Field::put($field, buf); )*
                    })*
                }
            }
        }
        impl ::commonware_codec::EncodeSize for $ty {
            fn encode_size(&self) -> usize {
                match self {
                    $(Self::$variant { $($field),* } => {
                        1 $( + $crate::fields::Field::size($field) )*
                    })*
                }
            }
        }
        impl $ty {
            /// Reads the variant named by `tag` (already read).
            pub fn read_variant(
                tag: u8,
                buf: &mut impl ::commonware_codec::Buf,
            ) -> Result<Self, ::commonware_codec::Error> {
                // Enums whose variants carry no fields read nothing more.
                let _ = &buf;
                match tag {
                    $($tag => Ok(Self::$variant {
                        $( $field: $crate::fields::Field::take(buf, $bound)?, )*
                    }),)*
                    other => Err(::commonware_codec::Error::InvalidEnum(other)),
                }
            }
        }
        impl ::commonware_codec::Read for $ty {
            type Cfg = ();
            fn read_cfg(
                buf: &mut impl ::commonware_codec::Buf,
                _: &(),
            ) -> Result<Self, ::commonware_codec::Error> {
                let tag = <u8 as ::commonware_codec::ReadExt>::read(buf)?;
                Self::read_variant(tag, buf)
            }
        }
        impl $crate::kit::Tagged for $ty {
            const VARIANTS: &'static [&'static str] = &[$(stringify!($variant)),*];

            fn read_tagged(
                tag: u8,
                buf: &mut impl ::commonware_codec::Buf,
            ) -> Result<Self, ::commonware_codec::Error> {
                Self::read_variant(tag, buf)
            }
        }
        $crate::codec_field!($ty);
    };
}

/// [`Field`] for a type that already implements the codec traits with `Cfg = ()`.
#[macro_export]
macro_rules! codec_field {
    ($ty:ty) => {
        impl $crate::fields::Field for $ty {
            type Bound = ();
            fn put(&self, buf: &mut impl ::bytes::BufMut) {
                ::commonware_codec::Write::write(self, buf);
            }
            fn size(&self) -> usize {
                ::commonware_codec::EncodeSize::encode_size(self)
            }
            fn take(
                buf: &mut impl ::commonware_codec::Buf,
                _: (),
            ) -> Result<Self, ::commonware_codec::Error> {
                <$ty as ::commonware_codec::ReadExt>::read(buf)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{from_slice, to_vec};

    #[derive(Debug, PartialEq, Eq)]
    struct Sample {
        id: u64,
        name: String,
        tags: Vec<String>,
        note: Option<String>,
        flag: bool,
    }
    codec_struct!(Sample {
        id: (),
        name: 8,
        tags: (2, 4),
        note: 16,
        flag: ()
    });

    #[derive(Debug, PartialEq, Eq)]
    enum Choice {
        Empty,
        Full { sample: Sample, weight: u32 },
    }
    codec_enum!(Choice { 0 => Empty {}, 1 => Full { sample: (), weight: () } });

    fn sample() -> Sample {
        Sample {
            id: 7,
            name: "tender".into(),
            tags: vec!["a".into(), "bc".into()],
            note: Some("n".into()),
            flag: true,
        }
    }

    #[test]
    fn round_trips_and_sizes_match() {
        for value in [
            Choice::Empty,
            Choice::Full {
                sample: sample(),
                weight: 3,
            },
        ] {
            let bytes = to_vec(&value);
            assert_eq!(bytes.len(), value.encode_size());
            assert_eq!(from_slice::<Choice>(&bytes, &()).unwrap(), value);
        }
    }

    #[test]
    fn bounds_are_enforced() {
        let mut long = sample();
        long.name = "far too long".into();
        assert!(from_slice::<Sample>(&to_vec(&long), &()).is_err());
        let mut many = sample();
        many.tags.push("x".into());
        assert!(from_slice::<Sample>(&to_vec(&many), &()).is_err());
        let mut bytes = to_vec(&sample());
        *bytes.last_mut().unwrap() = 2;
        assert!(
            from_slice::<Sample>(&bytes, &()).is_err(),
            "bool must be 0 or 1"
        );
        assert!(from_slice::<Choice>(&[9], &()).is_err(), "unknown tag");
    }
}
