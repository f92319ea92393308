//! Docker's credential-helper wire format, and nothing else.
//!
//! Reads a `Read`, writes a `Write`; no other I/O. The rules follow the reference Go
//! implementation (`credentials.Serve` in docker/docker-credential-helpers) and what docker
//! CLI 28 and skopeo were observed to send and accept (shared/reference/protocol.md):
//! `store` takes one JSON object whose field names match case-insensitively; `get` and
//! `erase` take the server name with line breaks removed and whitespace trimmed; answers are
//! compact JSON encoded the way Go's `json.Encoder` does (HTML characters escaped) with one
//! trailing newline. Errors are the caller's to print: this module only names them.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use crate::secret::Secret;

/// Docker's not-found sentinel (`credentials/error.go`: `errCredentialsNotFoundMessage`).
/// docker and skopeo compare the trimmed stdout with this exact text to fall back to an
/// anonymous pull; any other text is a hard error. Use it only for "nothing stored and
/// nothing to provision".
pub const NOT_FOUND: &str = "credentials not found in native keychain";
/// `errCredentialsMissingServerURLMessage`.
pub const MISSING_SERVER_URL: &str = "no credentials server URL";
/// `errCredentialsMissingUsernameMessage`.
pub const MISSING_USERNAME: &str = "no credentials username";
/// Clients send a few hundred bytes; anything near this is not a credential request.
pub const MAX_INPUT_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("{MISSING_SERVER_URL}")]
    MissingServerUrl,
    #[error("{MISSING_USERNAME}")]
    MissingUsername,
    #[error("input is larger than 1 MiB: send one server name or one credentials object")]
    TooLarge,
    #[error("input is not valid UTF-8: send the server name or JSON as UTF-8 text")]
    NotUtf8,
    #[error("could not read standard input: {0}")]
    Read(String),
    #[error(
        "invalid credentials JSON ({0}): expected {{\"ServerURL\":\"...\",\"Username\":\"...\",\"Secret\":\"...\"}}"
    )]
    InvalidJson(String),
}

/// What `store` receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub server_url: String,
    pub username: String,
    pub secret: Secret,
}

/// Reads all of standard input, bounded by [`MAX_INPUT_BYTES`], as UTF-8 text.
pub fn read_input(reader: impl Read) -> Result<String, ProtocolError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| ProtocolError::Read(err.to_string()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(ProtocolError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|_| ProtocolError::NotUtf8)
}

/// The server name sent to `get` or `erase`: the reference helper concatenates stdin's lines
/// without separators and trims whitespace, so `"https://quay\n.io\n"` is `https://quay.io`.
pub fn parse_server(input: &str) -> Result<String, ProtocolError> {
    let joined: String = input.split(['\r', '\n']).collect();
    let server = joined.trim();
    if server.is_empty() {
        return Err(ProtocolError::MissingServerUrl);
    }
    Ok(server.to_string())
}

/// The JSON object sent to `store`. Like Go's decoder: field names match case-insensitively,
/// unknown fields and bytes after the first value are ignored, `null` is an empty object, and
/// a missing `Secret` is empty. `ServerURL` is trimmed (the reference keeps the spaces and then
/// can never find the key again, since `get` trims).
pub fn parse_store(input: &str) -> Result<Credentials, ProtocolError> {
    let first = serde_json::Deserializer::from_str(input)
        .into_iter::<serde_json::Value>()
        .next();
    let value = match first {
        None => return Err(ProtocolError::InvalidJson("empty input".into())),
        Some(Err(err)) => return Err(ProtocolError::InvalidJson(err.to_string())),
        Some(Ok(value)) => value,
    };
    let object = match value {
        serde_json::Value::Null => serde_json::Map::new(),
        serde_json::Value::Object(object) => object,
        other => {
            return Err(ProtocolError::InvalidJson(format!(
                "got {}, not an object",
                json_kind(&other)
            )));
        }
    };
    let field = |name: &str| -> Result<String, ProtocolError> {
        // Go's encoding/json picks the exact-case key first, then any case-insensitive match.
        let found = object.get(name).or_else(|| {
            object
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        });
        match found {
            None | Some(serde_json::Value::Null) => Ok(String::new()),
            Some(serde_json::Value::String(text)) => Ok(text.clone()),
            Some(other) => Err(ProtocolError::InvalidJson(format!(
                "field {name} is {}, not a string",
                json_kind(other)
            ))),
        }
    };
    let server_url = field("ServerURL")?.trim().to_string();
    let username = field("Username")?;
    let secret = Secret::new(field("Secret")?);
    if server_url.is_empty() {
        return Err(ProtocolError::MissingServerUrl);
    }
    if username.is_empty() {
        return Err(ProtocolError::MissingUsername);
    }
    Ok(Credentials {
        server_url,
        username,
        secret,
    })
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The answer to a successful `get`: `{"ServerURL":..,"Username":..,"Secret":..}` and a newline,
/// `ServerURL` echoing the (trimmed) query like the reference helper.
pub fn write_get(
    out: &mut (impl Write + ?Sized),
    server_url: &str,
    username: &str,
    secret: &Secret,
) -> std::io::Result<()> {
    let mut line = String::with_capacity(64 + server_url.len() + secret.expose().len());
    line.push_str("{\"ServerURL\":");
    push_go_json_string(&mut line, server_url);
    line.push_str(",\"Username\":");
    push_go_json_string(&mut line, username);
    line.push_str(",\"Secret\":");
    push_go_json_string(&mut line, secret.expose());
    line.push_str("}\n");
    out.write_all(line.as_bytes())
}

/// The answer to `list`: server → username, keys sorted, `{}` when empty. Never a secret.
pub fn write_list(
    out: &mut (impl Write + ?Sized),
    entries: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let mut line = String::from("{");
    for (index, (server, username)) in entries.iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        push_go_json_string(&mut line, server);
        line.push(':');
        push_go_json_string(&mut line, username);
    }
    line.push_str("}\n");
    out.write_all(line.as_bytes())
}

/// Appends `text` as a JSON string exactly as Go's `json.Encoder` writes it (HTML escaping on):
/// `<`, `>`, `&`, U+2028 and U+2029 become `\uXXXX`, control characters other than `\n`, `\r`
/// and `\t` become `\u00XX`. Clients do not need the escaping, but byte-identical answers
/// make us a drop-in replacement for the reference helpers.
fn push_go_json_string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", ch as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get_line(server: &str, user: &str, secret: &str) -> String {
        let mut out = Vec::new();
        write_get(&mut out, server, user, &Secret::new(secret)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn not_found_sentinel_is_dockers_exact_text() {
        assert_eq!(NOT_FOUND, "credentials not found in native keychain");
        assert_eq!(MISSING_SERVER_URL, "no credentials server URL");
        assert_eq!(MISSING_USERNAME, "no credentials username");
    }

    #[test]
    fn get_output_matches_the_reference_bytes() {
        assert_eq!(
            get_line("https://quay.io", "alice", "pw1"),
            "{\"ServerURL\":\"https://quay.io\",\"Username\":\"alice\",\"Secret\":\"pw1\"}\n"
        );
        // protocol.md case 46 and the escape recording.
        assert_eq!(
            get_line("sp.example", "ü&<>", "a\"b\\c\ndé☃/"),
            "{\"ServerURL\":\"sp.example\",\"Username\":\"ü\\u0026\\u003c\\u003e\",\"Secret\":\"a\\\"b\\\\c\\ndé☃/\"}\n"
        );
        assert_eq!(
            get_line("e", "<token>", "a\u{1}b\u{8}c\td\u{2028}e😀"),
            "{\"ServerURL\":\"e\",\"Username\":\"\\u003ctoken\\u003e\",\"Secret\":\"a\\u0001b\\u0008c\\td\\u2028e😀\"}\n"
        );
    }

    #[test]
    fn list_output_is_sorted_and_empty_is_braces() {
        let mut out = Vec::new();
        write_list(&mut out, &BTreeMap::new()).unwrap();
        assert_eq!(out, b"{}\n");
        let entries = BTreeMap::from([
            ("quay.io".to_string(), "bob".to_string()),
            ("localhost:5000".to_string(), "<token>".to_string()),
        ]);
        let mut out = Vec::new();
        write_list(&mut out, &entries).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"localhost:5000\":\"\\u003ctoken\\u003e\",\"quay.io\":\"bob\"}\n"
        );
    }

    #[test]
    fn store_accepts_what_real_clients_send() {
        let creds = parse_store(
            "{\"ServerURL\":\"localhost:5000\",\"Username\":\"\\u003ctoken\\u003e\",\"Secret\":\"tok\"}\n",
        )
        .unwrap();
        assert_eq!(creds.server_url, "localhost:5000");
        assert_eq!(creds.username, "<token>");
        assert_eq!(creds.secret.expose(), "tok");
    }

    #[test]
    fn store_field_names_are_case_insensitive_and_extras_ignored() {
        let creds =
            parse_store("{\"serverurl\":\"lc.example\",\"username\":\"lu\",\"secret\":\"ls\",\"Extra\":1} trailing")
                .unwrap();
        assert_eq!(
            (
                creds.server_url.as_str(),
                creds.username.as_str(),
                creds.secret.expose()
            ),
            ("lc.example", "lu", "ls")
        );
    }

    #[test]
    fn store_missing_secret_is_empty() {
        let creds = parse_store("{\"ServerURL\":\"a\",\"Username\":\"u\"}").unwrap();
        assert!(creds.secret.is_empty());
    }

    #[test]
    fn store_errors_use_the_reference_messages() {
        assert_eq!(parse_store("{}"), Err(ProtocolError::MissingServerUrl));
        assert_eq!(parse_store("null"), Err(ProtocolError::MissingServerUrl));
        assert_eq!(
            parse_store("{\"Username\":\"u\",\"Secret\":\"s\"}"),
            Err(ProtocolError::MissingServerUrl)
        );
        assert_eq!(
            parse_store("{\"ServerURL\":\"a\",\"Username\":\"\",\"Secret\":\"s\"}"),
            Err(ProtocolError::MissingUsername)
        );
        assert_eq!(
            ProtocolError::MissingServerUrl.to_string(),
            MISSING_SERVER_URL
        );
        assert_eq!(ProtocolError::MissingUsername.to_string(), MISSING_USERNAME);
    }

    #[test]
    fn store_rejects_non_objects_with_a_clear_message() {
        for (input, expected) in [
            ("", "invalid credentials JSON (empty input)"),
            (
                "[]",
                "invalid credentials JSON (got an array, not an object)",
            ),
            (
                "not json",
                "invalid credentials JSON (expected ident at line 1 column 2)",
            ),
            (
                "{\"ServerURL\":1,\"Username\":\"u\"}",
                "invalid credentials JSON (field ServerURL is a number, not a string)",
            ),
        ] {
            let message = parse_store(input).unwrap_err().to_string();
            assert!(message.starts_with(expected), "{input:?} gave {message:?}");
        }
    }

    #[test]
    fn server_lines_are_joined_and_trimmed() {
        assert_eq!(
            parse_server("https://quay\n.io\n").unwrap(),
            "https://quay.io"
        );
        assert_eq!(
            parse_server("  https://quay.io \r\n").unwrap(),
            "https://quay.io"
        );
        assert_eq!(
            parse_server(" \n\t\n"),
            Err(ProtocolError::MissingServerUrl)
        );
        assert_eq!(parse_server(""), Err(ProtocolError::MissingServerUrl));
    }

    #[test]
    fn input_is_bounded_and_must_be_utf8() {
        let big = vec![b'a'; MAX_INPUT_BYTES as usize + 1];
        assert_eq!(read_input(&big[..]), Err(ProtocolError::TooLarge));
        let exact = vec![b'a'; MAX_INPUT_BYTES as usize];
        assert_eq!(read_input(&exact[..]).unwrap().len(), exact.len());
        assert_eq!(read_input(&b"x\xff"[..]), Err(ProtocolError::NotUtf8));
    }
}
