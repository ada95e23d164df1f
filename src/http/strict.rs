//! The two checks serde does not make on a JSON body, made here so that a body means one thing:
//!
//! - a name given twice in one object ([`value`]): JSON's grammar allows it and serde_json keeps
//!   the last, so `{"repair": "120.00", "repair": "1.00"}` would set 1.00 without a word;
//! - an array where an object belongs ([`Strict`]): serde's derived structs also read a JSON
//!   array as their fields in order, so `[null, [["AC-CAP-00128I", 1]]]` would be a request.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// What went wrong reading a body into a [`Value`].
#[derive(Debug)]
pub enum ValueError {
    /// not JSON (or a number out of range)
    Syntax(serde_json::Error),
    /// the path of a name given twice in one object, e.g. `labour_rates.repair`
    Duplicate(String),
}

/// Reads `body` as JSON, refusing an object that names a member twice.
pub fn value(body: &[u8]) -> Result<Value, ValueError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Node { path: String::new(), duplicate: &duplicate }.deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    match (parsed, duplicate.into_inner()) {
        (_, Some(path)) => Err(ValueError::Duplicate(path)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(ValueError::Syntax(e)),
    }
}

/// One value of the document at `path`; a duplicate name is noted in `duplicate`.
struct Node<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(Node {
            path: format!("{}[{}]", self.path, items.len()),
            duplicate: self.duplicate,
        })? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { key.clone() } else { format!("{}.{key}", self.path) };
            if members.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(path);
                return Err(de::Error::custom("a name given twice"));
            }
            let v = map.next_value_seed(Node { path, duplicate: self.duplicate })?;
            members.insert(key, v);
        }
        Ok(Value::Object(members))
    }
}

/// A parsed body to deserialize from, as serde_json's `Value` does, except that a struct is
/// read from a JSON object only.
pub struct Strict(pub Value);

type Error = serde_json::Error;

impl<'de> de::Deserializer<'de> for Strict {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Seq(items.into_iter())),
            Value::Object(members) => visitor.visit_map(Members { rest: members.into_iter(), value: None }),
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            v => visitor.visit_some(Strict(v)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(members) => visitor.visit_map(Members { rest: members.into_iter(), value: None }),
            other => Err(de::Error::invalid_type(unexpected(&other), &"a JSON object")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    // numbers and strings as serde_json reads them from a `Value` (its range checks included)
    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_i8(self.0, v)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_i16(self.0, v)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_i32(self.0, v)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_i64(self.0, v)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_u8(self.0, v)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_u16(self.0, v)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_u32(self.0, v)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_u64(self.0, v)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_f32(self.0, v)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_f64(self.0, v)
    }

    forward_to_deserialize_any! {
        bool i128 u128 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map identifier ignored_any
    }
}

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match n.as_f64() {
            Some(f) => Unexpected::Float(f),
            None => Unexpected::Other("number"),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

struct Seq(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|v| seed.deserialize(Strict(v))).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Members {
    rest: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Members {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.rest.next() {
            Some((k, v)) => {
                self.value = Some(v);
                let key: de::value::StringDeserializer<Error> = k.into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self.value.take().ok_or_else(|| de::Error::custom("a value asked for before its name"))?;
        seed.deserialize(Strict(v))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.rest.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Line {
        part_code: String,
        qty: u32,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Req {
        lines: Vec<Line>,
        note: Option<String>,
        rates: Option<BTreeMap<String, String>>,
    }

    fn read(body: &str) -> Result<Req, String> {
        let v = value(body.as_bytes()).map_err(|e| format!("{e:?}"))?;
        Req::deserialize(Strict(v)).map_err(|e| e.to_string())
    }

    #[test]
    fn an_object_reads_as_serde_json_reads_it() {
        let r = read(r#"{"lines": [{"part_code": "X", "qty": 2}], "note": null}"#).unwrap();
        assert_eq!(r.lines, vec![Line { part_code: "X".into(), qty: 2 }]);
        assert_eq!(r.note, None);
        assert!(read(r#"{"lines": [{"part_code": "X", "qty": -1}]}"#).unwrap_err().contains("-1"));
        assert!(read(r#"{"lines": [{"part_code": "X", "qty": 1, "qtty": 1}]}"#)
            .unwrap_err()
            .contains("qtty"));
    }

    #[test]
    fn an_array_is_no_struct_at_any_depth() {
        let e = read(r#"[[["X", 1]], null, null]"#).unwrap_err();
        assert!(e.contains("expected a JSON object"), "{e}");
        let e = read(r#"{"lines": [["X", 1]]}"#).unwrap_err();
        assert!(e.contains("expected a JSON object"), "{e}");
    }

    #[test]
    fn a_name_given_twice_is_named_with_its_path() {
        match value(br#"{"a": 1, "a": 2}"#) {
            Err(ValueError::Duplicate(p)) => assert_eq!(p, "a"),
            other => panic!("{other:?}"),
        }
        match value(br#"{"rates": {"repair": "1", "install": "2", "repair": "3"}}"#) {
            Err(ValueError::Duplicate(p)) => assert_eq!(p, "rates.repair"),
            other => panic!("{other:?}"),
        }
        match value(br#"{"lines": [{"q": 1}, {"q": 1, "q": 2}]}"#) {
            Err(ValueError::Duplicate(p)) => assert_eq!(p, "lines[1].q"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(value(br#"{"a": 1,"#), Err(ValueError::Syntax(_))));
        assert!(matches!(value(br#"{"a": 1} x"#), Err(ValueError::Syntax(_))));
        assert!(matches!(value(b"1e999999"), Err(ValueError::Syntax(_))));
        assert_eq!(value(br#"{"a": [1, {"b": null}]}"#).unwrap(), serde_json::json!({"a": [1, {"b": null}]}));
    }
}
