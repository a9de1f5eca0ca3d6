//! How keys and records become bytes.
//!
//! Keys use an order-preserving encoding, so that range scans follow the key's natural order.
//! Records carry a one-byte format tag before their body; a reader that meets a tag it does not
//! know refuses the record instead of guessing.

use serde::{Serialize, de::DeserializeOwned};

/// A table key with an order-preserving byte encoding.
pub trait Key: Sized {
    fn encode(&self) -> Vec<u8>;
    fn decode(bytes: &[u8]) -> Result<Self, String>;
}

impl Key for String {
    fn encode(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())
    }
}

/// As they are: byte strings already sort by their bytes.
impl Key for Vec<u8> {
    fn encode(&self) -> Vec<u8> {
        self.clone()
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        Ok(bytes.to_vec())
    }
}

/// Its 16 bytes rather than the 36 characters of its text: ids are in many index entries.
/// Byte order is the order of the text, and for UUIDv7 the order of creation.
impl Key for uuid::Uuid {
    fn encode(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        uuid::Uuid::from_slice(bytes).map_err(|e| e.to_string())
    }
}

/// Big-endian, so byte order is numeric order.
impl Key for u64 {
    fn encode(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        let array: [u8; 8] = bytes
            .try_into()
            .map_err(|_| format!("expected 8 bytes for a u64 key, found {}", bytes.len()))?;
        Ok(u64::from_be_bytes(array))
    }
}

/// A value stored in a table. Any serde type is one; the encoding is JSON behind a format tag,
/// which keeps records readable by later versions that add fields with defaults.
pub trait Record: Serialize + DeserializeOwned {}

impl<T: Serialize + DeserializeOwned> Record for T {}

/// Format tag of the JSON record body.
const FORMAT_JSON: u8 = 1;

pub(crate) fn encode_record<V: Record>(value: &V) -> Vec<u8> {
    let mut bytes = vec![FORMAT_JSON];
    // Serializing a plain serde data type into a Vec cannot fail: there is no I/O, and map keys
    // of our records are strings.
    serde_json::to_writer(&mut bytes, value).expect("records serialize to JSON");
    bytes
}

pub(crate) fn decode_record<V: Record>(bytes: &[u8]) -> Result<V, String> {
    match bytes.split_first() {
        Some((&FORMAT_JSON, body)) => serde_json::from_slice(body).map_err(|e| e.to_string()),
        Some((tag, _)) => Err(format!("unknown record format tag {tag}")),
        None => Err("empty record".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_keys_sort_numerically() {
        let mut keys: Vec<Vec<u8>> = [300u64, 2, 70_000, 1].iter().map(Key::encode).collect();
        keys.sort();
        let decoded: Vec<u64> = keys.iter().map(|k| u64::decode(k).unwrap()).collect();
        assert_eq!(decoded, [1, 2, 300, 70_000]);
    }

    #[test]
    fn uuid_keys_sort_as_their_text() {
        let ids: Vec<uuid::Uuid> = (1..50u128)
            .map(|i| uuid::Uuid::from_u128(i.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)))
            .collect();
        let mut by_bytes = ids.clone();
        by_bytes.sort_by_key(Key::encode);
        let mut by_text = ids;
        by_text.sort_by_key(ToString::to_string);
        assert_eq!(by_bytes, by_text);
        let id = by_text[0];
        assert_eq!(uuid::Uuid::decode(&id.encode()).unwrap(), id);
        assert!(uuid::Uuid::decode(b"short").is_err());
    }

    #[test]
    fn records_round_trip_and_unknown_tags_are_refused() {
        let bytes = encode_record(&vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(decode_record::<Vec<String>>(&bytes).unwrap(), ["a", "b"]);
        let mut future = bytes.clone();
        future[0] = 9;
        assert!(decode_record::<Vec<String>>(&future).is_err());
        assert!(decode_record::<Vec<String>>(&[]).is_err());
    }
}
