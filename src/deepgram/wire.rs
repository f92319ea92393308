//! The Deepgram API's JSON, read and written: the create request, both create-response shapes
//! (flat with `username`/`secret`, and `{member, distribution_credentials}`), credential
//! listings, projects and error bodies. Pure functions over `serde_json` values (fuzzed in
//! `fuzz/`); server text is made terminal-safe as it is read. Never logs a secret.

use serde::Serialize;
use serde_json::Value;

use super::error::ApiDetail;
use crate::sanitize::terminal_safe;
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub project_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreateRequest {
    pub comment: String,
    pub scopes: Vec<String>,
    pub provider: String,
}

/// A credential as create returns it: the only time the secret is ever available.
#[derive(Debug, Clone)]
pub struct CreatedCredential {
    pub id: String,
    pub username: String,
    pub secret: Secret,
    pub created: Option<String>,
    pub scopes: Vec<String>,
    pub comment: Option<String>,
}

/// A distribution credential as list and get-one describe it: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialInfo {
    pub id: String,
    /// Derived as `deepgram+<id>` when the API does not say (it usually does not).
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub scopes: Vec<String>,
}

/// One list or get-one entry: `{member, distribution_credentials: {...}}`, or the inner object
/// alone. Text is made terminal-safe; `None` when there is no id.
pub(super) fn parse_info(value: &Value) -> Option<CredentialInfo> {
    let inner = value
        .get("distribution_credentials")
        .filter(|v| v.is_object())
        .unwrap_or(value);
    let text = |name: &str| {
        inner
            .get(name)
            .and_then(Value::as_str)
            .map(terminal_safe)
            .filter(|s| !s.is_empty())
    };
    let id = text("distribution_credentials_id")?;
    let scopes = terminal_safe_strings(inner.get("scopes"));
    Some(CredentialInfo {
        username: text("username").unwrap_or_else(|| format!("deepgram+{id}")),
        comment: text("comment"),
        created: text("created"),
        scopes,
        id,
    })
}

/// The projects of a `GET /v1/projects` answer, made terminal-safe; entries without a string
/// `project_id` are skipped, a missing `name` is empty. `None` when there is no `projects` array.
pub fn parse_projects(body: &Value) -> Option<Vec<Project>> {
    let projects = body.get("projects")?.as_array()?;
    Some(
        projects
            .iter()
            .filter_map(|p| {
                Some(Project {
                    project_id: terminal_safe(p.get("project_id")?.as_str()?),
                    name: terminal_safe(p.get("name").and_then(Value::as_str).unwrap_or("")),
                })
            })
            .collect(),
    )
}

/// Any of the three documented error bodies, made terminal-safe.
pub fn parse_detail(text: &str) -> ApiDetail {
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        let text = terminal_safe(text);
        let text = text.trim();
        return ApiDetail {
            message: (!text.is_empty()).then(|| truncate(text, 200)),
            ..ApiDetail::default()
        };
    };
    let from_api = (object.contains_key("err_code") && object.contains_key("err_msg"))
        || (object.contains_key("category") && object.contains_key("message"));
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| object.get(*name).and_then(Value::as_str))
            .map(|s| truncate(terminal_safe(s).trim(), 300))
    };
    let message = match (field(&["err_msg", "message"]), field(&["details"])) {
        (Some(message), Some(details)) if message != details => {
            Some(format!("{message} {details}"))
        }
        (Some(message), _) => Some(message),
        (None, details) => details,
    };
    ApiDetail {
        code: field(&["err_code", "category"]),
        message,
        request_id: field(&["request_id"]),
        from_api,
    }
}

pub(super) fn truncate(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    match one_line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// Why a create response gave no usable credential.
#[derive(Debug)]
pub enum ParseCreated {
    /// The credential `id` exists on the server but the answer had no secret.
    NoSecret(String),
    /// Not a create response: what is missing.
    Shape(String),
}

/// Flat `{distribution_credentials_id, username, secret, ...}` or wrapped
/// `{member, distribution_credentials: {...}}`; `username` derived as `deepgram+<id>` when absent.
pub fn parse_created(value: &Value) -> Result<CreatedCredential, ParseCreated> {
    let inner = value
        .get("distribution_credentials")
        .filter(|v| v.is_object());
    let find = |name: &str| {
        value
            .get(name)
            .or_else(|| inner.and_then(|i| i.get(name)))
            .filter(|v| !v.is_null())
    };
    let raw = |name: &str| find(name).and_then(Value::as_str).map(str::to_string);
    // Shown to users and kept in the index; the secret and username are used as sent.
    let text = |name: &str| find(name).and_then(Value::as_str).map(terminal_safe);
    let id = text("distribution_credentials_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ParseCreated::Shape("no distribution_credentials_id".into()))?;
    let secret = match raw("secret") {
        Some(secret) if !secret.is_empty() => Secret::new(secret),
        _ => return Err(ParseCreated::NoSecret(id)),
    };
    let username = raw("username")
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("deepgram+{id}"));
    let scopes = terminal_safe_strings(find("scopes"));
    Ok(CreatedCredential {
        id,
        username,
        secret,
        created: text("created"),
        scopes,
        comment: text("comment"),
    })
}

/// The strings of a JSON array (a credential's `scopes`), made terminal-safe; empty when the
/// value is missing or not an array.
pub(super) fn terminal_safe_strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(terminal_safe)
                .collect()
        })
        .unwrap_or_default()
}
