//! Opaque paging and delta tokens.
//!
//! A token is base64url of a small JSON document. Clients must treat them as opaque (Graph's
//! docs say so); encoding the cursor rather than an offset keeps pages stable when objects are
//! deleted between page requests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::GraphError;

pub fn encode<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of numbers and strings cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

pub fn decode<T: DeserializeOwned>(token: &str) -> Result<T, GraphError> {
    URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| GraphError::bad_request("Specified skip token is invalid."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Cursor {
        after: u64,
    }

    #[test]
    fn round_trip_and_garbage() {
        let t = encode(&Cursor { after: 42 });
        assert_eq!(decode::<Cursor>(&t).expect("decode"), Cursor { after: 42 });
        assert!(decode::<Cursor>("not a token!").is_err());
    }
}
