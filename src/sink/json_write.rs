//! Compact JSON from any `Serialize` value, as serde_json writes it, with strings escaped by
//! [`super::escape::json_string`]: eight bytes at a time where they are plain, and U+2028,
//! U+2029 and U+0085 escaped too, so that every record stays on one line.
//!
//! serde_json's own string escaping looks at one byte at a time and cannot be replaced from
//! outside; a finding carries about a kilobyte of strings (the URI and the evidence line), so
//! on a flood of written findings it was a fifth of all instructions. Numbers and the
//! punctuation between values are still written by serde_json's [`CompactFormatter`], so the
//! bytes are serde_json's but for the line breakers.

use serde::ser::{self, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};

use super::escape::json_string;

/// Why a value could not be written as JSON.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JsonWriteError(String);

impl ser::Error for JsonWriteError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        JsonWriteError(msg.to_string())
    }
}

impl From<JsonWriteError> for std::io::Error {
    fn from(e: JsonWriteError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

/// Appends `value` to `out` as compact JSON on one line. On an error, `out` may hold part of
/// the value.
pub fn append_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), JsonWriteError> {
    value.serialize(&mut JsonWriter { out })
}

/// The serializer: every value goes to the end of `out`.
struct JsonWriter<'o> {
    out: &'o mut Vec<u8>,
}

type Done = Result<(), JsonWriteError>;

/// serde_json's formatter writes into a `Vec`, which cannot fail.
fn format(result: std::io::Result<()>) -> Done {
    result.map_err(|e| JsonWriteError(e.to_string()))
}

macro_rules! write_number {
    ($($method:ident($type:ty) => $format:ident,)*) => {
        $(fn $method(self, v: $type) -> Done {
            format(CompactFormatter.$format(self.out, v))
        })*
    };
}

impl<'a, 'o> ser::Serializer for &'a mut JsonWriter<'o> {
    type Ok = ();
    type Error = JsonWriteError;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    write_number! {
        serialize_bool(bool) => write_bool,
        serialize_i8(i8) => write_i8,
        serialize_i16(i16) => write_i16,
        serialize_i32(i32) => write_i32,
        serialize_i64(i64) => write_i64,
        serialize_i128(i128) => write_i128,
        serialize_u8(u8) => write_u8,
        serialize_u16(u16) => write_u16,
        serialize_u32(u32) => write_u32,
        serialize_u64(u64) => write_u64,
        serialize_u128(u128) => write_u128,
    }

    fn serialize_f32(self, v: f32) -> Done {
        if !v.is_finite() {
            return self.serialize_unit();
        }
        format(CompactFormatter.write_f32(self.out, v))
    }

    fn serialize_f64(self, v: f64) -> Done {
        if !v.is_finite() {
            return self.serialize_unit();
        }
        format(CompactFormatter.write_f64(self.out, v))
    }

    fn serialize_char(self, v: char) -> Done {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Done {
        json_string(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Done {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }

    fn serialize_none(self) -> Done {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Done {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Done {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Done {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Done {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Done {
        self.out.push(b'{');
        json_string(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, JsonWriteError> {
        Ok(Compound::open(self, b'[', None))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'o>, JsonWriteError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'o>, JsonWriteError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, JsonWriteError> {
        Ok(Compound::open(self, b'[', Some(variant)))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, JsonWriteError> {
        Ok(Compound::open(self, b'{', None))
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'o>, JsonWriteError> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, JsonWriteError> {
        Ok(Compound::open(self, b'{', Some(variant)))
    }
}

/// An array or object being written: a comma goes before every element but the first.
struct Compound<'a, 'o> {
    writer: &'a mut JsonWriter<'o>,
    first: bool,
    /// The closing bracket, and whether the value sits in a `{"variant":...}` object.
    close: u8,
    in_variant: bool,
}

impl<'a, 'o> Compound<'a, 'o> {
    fn open(writer: &'a mut JsonWriter<'o>, bracket: u8, variant: Option<&str>) -> Self {
        if let Some(variant) = variant {
            writer.out.push(b'{');
            json_string(writer.out, variant);
            writer.out.push(b':');
        }
        writer.out.push(bracket);
        Compound {
            writer,
            first: true,
            close: if bracket == b'[' { b']' } else { b'}' },
            in_variant: variant.is_some(),
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        if !std::mem::take(&mut self.first) {
            self.writer.out.push(b',');
        }
        value.serialize(&mut *self.writer)
    }

    /// A map key: a string, or a number or boolean written as a string (as serde_json does).
    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        if !std::mem::take(&mut self.first) {
            self.writer.out.push(b',');
        }
        let start = self.writer.out.len();
        key.serialize(&mut *self.writer)?;
        let out = &mut *self.writer.out;
        match out.get(start) {
            Some(b'"') => {}
            Some(b'-' | b'0'..=b'9' | b't' | b'f') => {
                out.insert(start, b'"');
                out.push(b'"');
            }
            _ => return Err(JsonWriteError("key must be a string".into())),
        }
        out.push(b':');
        Ok(())
    }

    /// A struct's field name, always a plain string.
    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Done {
        if !std::mem::take(&mut self.first) {
            self.writer.out.push(b',');
        }
        json_string(self.writer.out, name);
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }

    fn close(self) -> Done {
        self.writer.out.push(self.close);
        if self.in_variant {
            self.writer.out.push(b'}');
        }
        Ok(())
    }
}

/// The four kinds of array serde knows, each written as a JSON array.
macro_rules! array_of_elements {
    ($($kind:ident :: $method:ident),*) => {
        $(impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = JsonWriteError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
                self.element(value)
            }
            fn end(self) -> Done {
                self.close()
            }
        })*
    };
}

array_of_elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Structs and struct variants, each written as a JSON object.
macro_rules! object_of_fields {
    ($($kind:ident),*) => {
        $(impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = JsonWriteError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Done {
                self.field(key, value)
            }
            fn end(self) -> Done {
                self.close()
            }
        })*
    };
}

object_of_fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = JsonWriteError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Done {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;

    use super::append_json;

    /// What serde_json writes, with the line breakers escaped as well.
    fn serde_json_line(value: &impl Serialize) -> String {
        serde_json::to_string(value)
            .unwrap()
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
            .replace('\u{85}', "\\u0085")
    }

    fn written(value: &impl Serialize) -> String {
        let mut out = Vec::new();
        append_json(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(Option<u8>),
        Tuple(i64, f64),
        Struct { name: String, list: Vec<char> },
    }

    #[derive(Serialize)]
    struct Every<'a> {
        unit: (),
        unit_struct: Marker,
        shapes: Vec<Shape>,
        numbers: (i8, i128, u128, f32, f64, f64),
        #[serde(with = "serde_bytes_as_seq")]
        bytes: &'a [u8],
        by_number: BTreeMap<i32, bool>,
        by_flag: BTreeMap<bool, &'a str>,
        by_char: BTreeMap<char, ()>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        flattened: Wrapper,
    }

    #[derive(Serialize)]
    struct Marker;

    #[derive(Serialize)]
    struct Wrapper(String);

    mod serde_bytes_as_seq {
        pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(bytes)
        }
    }

    #[test]
    fn every_shape_of_serdes_model_is_written_as_serde_json_writes_it() {
        let every = Every {
            unit: (),
            unit_struct: Marker,
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(None),
                Shape::Newtype(Some(7)),
                Shape::Tuple(-3, f64::NAN),
                Shape::Struct {
                    name: "a,b{c}\"d\u{2028}".into(),
                    list: vec!['x', '\n', '\u{85}'],
                },
            ],
            numbers: (-8, i128::MIN, u128::MAX, 1.5, 1e300, f64::INFINITY),
            bytes: b"\x00\xff",
            by_number: [(-1, true), (20, false)].into(),
            by_flag: [(false, "no"), (true, "yes")].into(),
            by_char: [(',', ()), ('{', ())].into(),
            skipped: None,
            flattened: Wrapper("w".into()),
        };
        assert_eq!(written(&every), serde_json_line(&every));
    }

    #[test]
    fn keys_that_are_not_strings_numbers_or_booleans_are_refused_as_serde_json_refuses_them() {
        let by_unit: BTreeMap<Option<u8>, u8> = [(None, 1)].into();
        assert!(serde_json::to_string(&by_unit).is_err());
        assert!(append_json(&mut Vec::new(), &by_unit).is_err());
    }

    #[test]
    fn a_request_finding_with_hostile_strings_is_written_as_serde_json_writes_it() {
        use crate::model::{Confidence, Evidence, FindingRecord};
        let mut finding = crate::finding::tests_support::finding("code-red", Confidence::High);
        if let Evidence::Request(r) = &mut finding.evidence {
            r.uri = Some("/default.ida?NNNN%u9090\u{1b}]0;x\u{7}\"\\\u{202e}".into());
            r.text = "日本語 \u{2028}\u{2029}\u{85}\t\r\n".repeat(5);
            r.client_ip = Some([192, 0, 2, 1].into());
        }
        let record = FindingRecord {
            finding: &finding,
            why: None,
        };
        assert_eq!(written(&record), serde_json_line(&record));
    }

    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "(\\PC|[\\u{0}-\\u{1f}\\u{85}\\u{2028}\\u{2029}\"\\\\]){0,24}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("\\PC{0,8}", inner, 0..6)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_value_is_written_as_serde_json_writes_it(value in any_json()) {
            prop_assert_eq!(written(&value), serde_json_line(&value));
        }
    }
}
