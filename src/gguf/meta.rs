//! Typed metadata getters. `get_*` returns Ok(None) for an absent key and an error naming the key
//! for a present key of the wrong type; `require_*` also errors on absence. Integer getters accept
//! any integer width (writers differ), float getters accept f32, f64 and integers.

use super::{Array, GgufFile, Value};
use crate::error::{Error, Result};

impl GgufFile {
    fn wrong_type(&self, key: &str, want: &str, v: &Value) -> Error {
        Error::metadata(
            &self.path,
            key,
            format!("expected {want}, found {} {}", v.type_name(), v.summary()),
        )
    }

    fn missing(&self, key: &str) -> Error {
        Error::metadata(&self.path, key, "required key is missing")
    }

    pub fn get_str(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong_type(key, "a string", v)),
        }
    }

    /// A non-negative integer of any width.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_i128() {
                Some(i) if (0..=u64::MAX as i128).contains(&i) => Ok(Some(i as u64)),
                _ => Err(self.wrong_type(key, "a non-negative integer", v)),
            },
        }
    }

    /// A non-negative integer that fits in usize and is at most `max` (limits hostile sizes).
    pub fn get_usize(&self, key: &str, max: usize) -> Result<Option<usize>> {
        match self.get_u64(key)? {
            None => Ok(None),
            Some(v) if v <= max as u64 => Ok(Some(v as usize)),
            Some(v) => Err(Error::metadata(
                &self.path,
                key,
                format!("value {v} exceeds the limit {max}"),
            )),
        }
    }

    pub fn get_f32(&self, key: &str) -> Result<Option<f32>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(f) if f.is_finite() => Ok(Some(f as f32)),
                _ => Err(self.wrong_type(key, "a finite number", v)),
            },
        }
    }

    pub fn get_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong_type(key, "a bool", v)),
        }
    }

    pub fn get_array(&self, key: &str) -> Result<Option<&Array>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong_type(key, "an array", v)),
        }
    }

    pub fn get_str_array(&self, key: &str) -> Result<Option<&[String]>> {
        match self.get_array(key)? {
            None => Ok(None),
            Some(Array::String(v)) => Ok(Some(v)),
            Some(_) => Err(self.wrong_type(key, "an array of strings", self.get(key).unwrap())),
        }
    }

    /// An integer array of any width, widened to i64.
    pub fn get_int_array(&self, key: &str) -> Result<Option<Vec<i64>>> {
        match self.get_array(key)? {
            None => Ok(None),
            Some(a) => a.to_i64_vec().map(Some).ok_or_else(|| {
                self.wrong_type(key, "an array of integers", self.get(key).unwrap())
            }),
        }
    }

    pub fn require_str(&self, key: &str) -> Result<&str> {
        self.get_str(key)?.ok_or_else(|| self.missing(key))
    }
    pub fn require_u64(&self, key: &str) -> Result<u64> {
        self.get_u64(key)?.ok_or_else(|| self.missing(key))
    }
    pub fn require_usize(&self, key: &str, max: usize) -> Result<usize> {
        self.get_usize(key, max)?.ok_or_else(|| self.missing(key))
    }
    pub fn require_f32(&self, key: &str) -> Result<f32> {
        self.get_f32(key)?.ok_or_else(|| self.missing(key))
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Result<&str> {
        self.require_str("general.architecture")
    }
}
