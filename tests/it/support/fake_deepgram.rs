//! A faithful loopback fake of Deepgram's management API, for tests and benchmarks.
//!
//! Stateful (projects, keys, distribution credentials), it checks what the real API checks —
//! the `Authorization: Token` header, the JSON body of a create (`comment`, `scopes`,
//! `provider: "quay"`, as the live API requires per shared/reference/deepgram-api.md §1.2) —
//! answers in either documented create shape, with the three documented error-body shapes,
//! and can be told to fail, stall, hang up or answer garbage. It records every request before
//! answering it, so the counters are right even for requests it never answered.
//!
//! HTTP/1.1 on 127.0.0.1, one thread per connection, `Connection: close`; or the same over
//! TLS ([`FakeDeepgram::start_tls`], with a server config from `tests/support/tls.rs`), where
//! a failed handshake is counted as a connection but never reaches the handler. Dropping it
//! stops it.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

pub const VALID_KEY: &str = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed";
pub const PROJECT_ID: &str = "9f870faf-07a9-41b1-aa0d-de5030cb9bdc";
const MEMBER_ID: &str = "c7b9b131-73f3-11d9-8665-0b00d2e44b83";
const MAX_BODY: usize = 1024 * 1024;

/// The two documented create-response shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `{distribution_credentials_id, provider, username, secret, comment, scopes, created}`
    Flat,
    /// `{member, distribution_credentials: {..., secret}}`, no username
    Wrapped,
}

/// What the next matching request gets instead of a normal answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// This status, headers and body. `acted`: for a create, the credential exists anyway
    /// (an ambiguous failure such as 502 or 504).
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        acted: bool,
    },
    /// Sleep, then handle the request normally (a client that timed out leaves it created).
    Slow(Duration),
    /// Read the request, act on it, close the socket without answering.
    Hangup,
    /// 200 with a body that is not JSON (a create acts).
    MalformedJson,
    /// 200 for a create without any `secret` (the credential is created).
    NoSecret,
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Without the query string.
    pub path: String,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

struct Credential {
    id: String,
    comment: String,
    scopes: Vec<String>,
    created: String,
    project_id: String,
}

struct State {
    projects: Vec<(String, String)>,
    /// key → may create credentials
    keys: Vec<(String, bool)>,
    shape: Shape,
    next_credential: Option<(String, String)>,
    /// Every later create reports this `created` time (a stale or skewed server clock).
    created_override: Option<String>,
    /// Every later create answers this username (flat shape).
    username_override: Option<String>,
    credentials: Vec<Credential>,
    faults: VecDeque<(String, String, Fault)>,
    /// Applied to every matching request (after the one-shot faults) until cleared.
    sticky_faults: Vec<(String, String, Fault)>,
    requests: Vec<Recorded>,
}

pub struct FakeDeepgram {
    port: u16,
    tls: bool,
    connections: Arc<AtomicUsize>,
    state: Arc<Mutex<State>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeDeepgram {
    /// One project ("Test Project") and one key with full rights.
    pub fn start() -> FakeDeepgram {
        FakeDeepgram::start_with(None)
    }

    /// The same API over TLS with this server config (see `tests/support/tls.rs`).
    pub fn start_tls(server: Arc<rustls::ServerConfig>) -> FakeDeepgram {
        FakeDeepgram::start_with(Some(server))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> FakeDeepgram {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            projects: vec![(PROJECT_ID.to_string(), "Test Project".to_string())],
            keys: vec![(VALID_KEY.to_string(), true)],
            shape: Shape::Flat,
            next_credential: None,
            created_override: None,
            username_override: None,
            credentials: Vec::new(),
            faults: VecDeque::new(),
            sticky_faults: Vec::new(),
            requests: Vec::new(),
        }));
        let stopping = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let is_tls = tls.is_some();
        let acceptor = {
            let state = Arc::clone(&state);
            let stopping = Arc::clone(&stopping);
            let connections = Arc::clone(&connections);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let state = Arc::clone(&state);
                    let tls = tls.clone();
                    std::thread::spawn(move || match tls {
                        None => serve(stream, &state),
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(connection, stream), &state);
                        }
                    });
                }
            })
        };
        FakeDeepgram {
            port,
            tls: is_tls,
            connections,
            state,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`, or `https://` for a TLS fake (its certificate names 127.0.0.1).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// TCP connections accepted, including TLS handshakes that failed (no request read).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn api_key(&self) -> String {
        VALID_KEY.to_string()
    }

    pub fn project_id(&self) -> String {
        PROJECT_ID.to_string()
    }

    /// Replaces the projects the key sees (and which exist).
    pub fn set_projects(&self, projects: &[(&str, &str)]) {
        self.state().projects = projects
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect();
    }

    pub fn set_shape(&self, shape: Shape) {
        self.state().shape = shape;
    }

    /// Another accepted key; `can_write = false` gets 403 on create.
    pub fn add_key(&self, key: &str, can_write: bool) {
        self.state().keys.push((key.to_string(), can_write));
    }

    /// Every later create returns this id and secret.
    pub fn set_credential(&self, id: &str, secret: &str) {
        self.state().next_credential = Some((id.to_string(), secret.to_string()));
    }

    /// Every later create reports `created` as its creation time, in its answer and in lists.
    pub fn set_created(&self, created: &str) {
        self.state().created_override = Some(created.to_string());
    }

    /// Every later create answers `username` (the flat shape) instead of `deepgram+<id>`.
    pub fn set_username(&self, username: &str) {
        self.state().username_override = Some(username.to_string());
    }

    /// Queues a fault for the first later request with this method whose path contains
    /// `path_contains`. Faults are consumed in order.
    pub fn push_fault(&self, method: &str, path_contains: &str, fault: Fault) {
        self.state()
            .faults
            .push_back((method.to_string(), path_contains.to_string(), fault));
    }

    /// Like [`FakeDeepgram::push_fault`], for every later matching request until
    /// [`FakeDeepgram::clear_sticky_faults`].
    pub fn set_sticky_fault(&self, method: &str, path_contains: &str, fault: Fault) {
        self.state()
            .sticky_faults
            .push((method.to_string(), path_contains.to_string(), fault));
    }

    pub fn clear_sticky_faults(&self) {
        self.state().sticky_faults.clear();
    }

    /// A plain status fault with the API's own error body for that status.
    pub fn status_fault(status: u16) -> Fault {
        let body = match status {
            401 => json!({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}),
            403 => {
                json!({"category": "INSUFFICIENT_PERMISSIONS", "message": "User does not have sufficient permissions."})
            }
            404 => {
                json!({"err_code": "NOT_FOUND", "err_msg": "Distribution credentials not found."})
            }
            429 => json!({"err_code": "TOO_MANY_REQUESTS", "err_msg": "Too many requests."}),
            _ => json!({"err_code": "INTERNAL_SERVER_ERROR", "err_msg": "Something went wrong."}),
        };
        Fault::Status {
            status,
            headers: vec![],
            body: body.to_string(),
            acted: false,
        }
    }

    /// Deletes a credential as the Console would (not counted as a request).
    pub fn remove_credential(&self, id: &str) -> bool {
        let mut state = self.state();
        let before = state.credentials.len();
        state.credentials.retain(|c| c.id != id);
        state.credentials.len() != before
    }

    /// Adds a credential made elsewhere (by hand, or by another install) with this comment and
    /// `created` time (RFC 3339); returns its id.
    pub fn insert_credential(&self, comment: &str, created: &str) -> String {
        let id = new_id();
        self.state().credentials.push(Credential {
            id: id.clone(),
            comment: comment.to_string(),
            scopes: vec!["self-hosted:product:api".to_string()],
            created: created.to_string(),
            project_id: PROJECT_ID.to_string(),
        });
        id
    }

    /// Ids of the credentials that exist now.
    pub fn credential_ids(&self) -> Vec<String> {
        self.state()
            .credentials
            .iter()
            .map(|c| c.id.clone())
            .collect()
    }

    /// Lists of a distribution-credentials collection, answered or not.
    pub fn lists(&self) -> usize {
        self.count_where(|r| r.method == "GET" && is_collection(&r.path))
    }

    /// Get-one requests for a distribution credential, answered or not.
    pub fn gets(&self) -> usize {
        self.count_where(|r| r.method == "GET" && is_credential(&r.path))
    }

    /// Deletes of a distribution credential, answered or not.
    pub fn deletes(&self) -> usize {
        self.count_where(|r| r.method == "DELETE" && is_credential(&r.path))
    }

    fn count_where(&self, test: impl Fn(&Recorded) -> bool) -> usize {
        self.state().requests.iter().filter(|r| test(r)).count()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_contains))
            .count()
    }

    /// POSTs to a distribution-credentials collection, answered or not.
    pub fn creates(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.method == "POST" && is_collection(&r.path))
            .count()
    }

    /// Deletes a credential as the Console would (a later get-one answers 404).
    pub fn delete_credential(&self, id: &str) {
        self.state().credentials.retain(|c| c.id != id);
    }

    /// Credentials that exist now, in the list-entry shape (no secrets).
    pub fn credentials(&self) -> Vec<Value> {
        self.state().credentials.iter().map(entry).collect()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FakeDeepgram {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

struct Answer {
    status: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    fn text(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain",
            headers: Vec::new(),
            body: body.to_string(),
        }
    }
}

/// One accepted connection, plain or TLS.
trait Conn: Read + Write {
    /// Closes the connection without answering.
    fn hang_up(&mut self);
}

impl Conn for TcpStream {
    fn hang_up(&mut self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn hang_up(&mut self) {
        let _ = self.sock.shutdown(Shutdown::Both);
    }
}

fn serve(mut stream: impl Conn, state: &Mutex<State>) {
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let fault = {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        state.requests.push(request.clone());
        let position = state.faults.iter().position(|(method, path, _)| {
            *method == request.method && request.path.contains(path.as_str())
        });
        let matches = |method: &String, path: &String| {
            *method == request.method && request.path.contains(path.as_str())
        };
        position
            .and_then(|i| state.faults.remove(i))
            .map(|(_, _, f)| f)
            .or_else(|| {
                state
                    .sticky_faults
                    .iter()
                    .find(|(method, path, _)| matches(method, path))
                    .map(|(_, _, f)| f.clone())
            })
    };
    let answer = match fault {
        None => handle(&request, state, false),
        Some(Fault::Slow(wait)) => {
            std::thread::sleep(wait);
            handle(&request, state, false)
        }
        Some(Fault::Hangup) => {
            handle(&request, state, false);
            stream.hang_up();
            return;
        }
        Some(Fault::MalformedJson) => {
            handle(&request, state, false);
            Answer::text(200, "<html>this is not json")
        }
        Some(Fault::NoSecret) => handle(&request, state, true),
        Some(Fault::Status {
            status,
            headers,
            body,
            acted,
        }) => {
            if acted {
                handle(&request, state, false);
            }
            Answer {
                status,
                content_type: if body.trim_start().starts_with('{') {
                    "application/json"
                } else {
                    "text/plain"
                },
                headers,
                body,
            }
        }
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        answer.status,
        reason(answer.status),
        answer.content_type,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(answer.body.as_bytes());
    let _ = stream.flush();
}

fn read_request(stream: &mut impl Read) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let path = match target.split_once('?') {
        Some((path, _query)) => path.to_string(),
        None => target,
    };
    Some(Recorded {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The API's behaviour for one request. `without_secret`: answer a create with no secret.
fn handle(request: &Recorded, state: &Mutex<State>, without_secret: bool) -> Answer {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let key = request
        .headers
        .iter()
        .find(|(name, _)| name == "authorization")
        .and_then(|(_, value)| value.strip_prefix("Token "))
        .map(str::trim);
    let Some(can_write) = key.and_then(|key| {
        state
            .keys
            .iter()
            .find(|(known, _)| known == key)
            .map(|(_, write)| *write)
    }) else {
        return Answer::json(
            401,
            json!({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": new_id()}),
        );
    };
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "projects"]) => {
            let projects: Vec<Value> = state
                .projects
                .iter()
                .map(|(id, name)| json!({"project_id": id, "name": name}))
                .collect();
            Answer::json(200, json!({ "projects": projects }))
        }
        ("GET", ["v1", "projects", project]) => match find_project(&state, project) {
            Ok((id, name)) => Answer::json(
                200,
                json!({"project_id": id, "name": name, "mip_opt_out": false}),
            ),
            Err(answer) => answer,
        },
        (
            method,
            [
                "v1",
                "projects",
                project,
                kind @ ("self-hosted" | "onprem"),
                "distribution",
                "credentials",
                rest @ ..,
            ],
        ) => {
            let _ = kind;
            if let Err(answer) = find_project(&state, project) {
                return answer;
            }
            let project = project.to_string();
            match (method, rest) {
                ("POST", []) => create(&mut state, request, &project, can_write, without_secret),
                ("GET", []) => {
                    let list: Vec<Value> = state
                        .credentials
                        .iter()
                        .filter(|c| c.project_id == project)
                        .map(entry)
                        .collect();
                    Answer::json(200, json!({ "distribution_credentials": list }))
                }
                ("GET", [id]) => match state.credentials.iter().find(|c| c.id == *id) {
                    Some(credential) => Answer::json(200, entry(credential)),
                    None => not_found_credential(),
                },
                ("DELETE", [id]) => {
                    if !can_write {
                        return forbidden("keys:write");
                    }
                    let before = state.credentials.len();
                    state.credentials.retain(|c| c.id != *id);
                    if state.credentials.len() == before {
                        not_found_credential()
                    } else {
                        Answer::json(
                            200,
                            json!({"message": "Successfully deleted the distribution credentials!"}),
                        )
                    }
                }
                _ => Answer::text(405, "Method Not Allowed"),
            }
        }
        _ => Answer::text(404, "Not Found"),
    }
}

fn create(
    state: &mut State,
    request: &Recorded,
    project: &str,
    can_write: bool,
    without_secret: bool,
) -> Answer {
    let content_type = request
        .headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return invalid_json("Content-Type must be application/json");
    }
    let body: Value = match serde_json::from_str(&request.body) {
        Ok(value) => value,
        Err(err) => return invalid_json(&format!("Json deserialize error: {err}")),
    };
    // The live API reads all three from the body and ignores the query string.
    for field in ["provider", "comment", "scopes"] {
        if body.get(field).is_none() {
            return invalid_json(&format!(
                "Json deserialize error: missing field `{field}` at line 1 column {}",
                request.body.len()
            ));
        }
    }
    if body["provider"] != "quay" {
        return invalid_json(&format!(
            "Json deserialize error: unknown variant `{}`, expected `quay`",
            body["provider"].as_str().unwrap_or("?")
        ));
    }
    let comment = body["comment"].as_str().unwrap_or("").trim().to_string();
    if comment.is_empty() || comment.chars().count() > 128 {
        return Answer::json(
            400,
            json!({"category": "INVALID_REQUEST", "message": "Invalid comment.", "details": "comment must be 1 to 128 characters", "request_id": new_id()}),
        );
    }
    let Some(scopes) = body["scopes"].as_array().filter(|s| !s.is_empty()) else {
        return invalid_json(
            "Json deserialize error: invalid type for `scopes`, expected a non-empty sequence",
        );
    };
    let scopes: Vec<String> = scopes
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if !can_write {
        return forbidden(&scopes.join("', '"));
    }
    let (id, secret) = state
        .next_credential
        .clone()
        .unwrap_or_else(|| (new_id(), new_secret()));
    let credential = Credential {
        id: id.clone(),
        comment: comment.clone(),
        scopes: scopes.clone(),
        created: state.created_override.clone().unwrap_or_else(now_rfc3339),
        project_id: project.to_string(),
    };
    let created = credential.created.clone();
    state.credentials.push(credential);
    let mut inner = json!({
        "distribution_credentials_id": id,
        "provider": "quay",
        "comment": comment,
        "scopes": scopes,
        "created": created,
    });
    if !without_secret {
        inner["secret"] = json!(secret);
    }
    match state.shape {
        Shape::Flat => {
            if !without_secret {
                inner["username"] = json!(
                    state
                        .username_override
                        .clone()
                        .unwrap_or_else(|| format!("deepgram+{id}"))
                );
            }
            Answer::json(200, inner)
        }
        Shape::Wrapped => Answer::json(
            200,
            json!({"member": {"member_id": MEMBER_ID, "email": "email@example.com"}, "distribution_credentials": inner}),
        ),
    }
}

fn find_project(state: &State, project: &str) -> Result<(String, String), Answer> {
    if !looks_like_uuid(project) {
        return Err(Answer::text(
            404,
            &format!("UUID parsing failed: invalid character found in `{project}`"),
        ));
    }
    state
        .projects
        .iter()
        .find(|(id, _)| id == project)
        .cloned()
        .ok_or_else(|| {
            Answer::json(
                404,
                json!({"err_code": "PROJECT_NOT_FOUND", "err_msg": "Project not found.", "request_id": new_id()}),
            )
        })
}

fn entry(credential: &Credential) -> Value {
    json!({
        "member": {"member_id": MEMBER_ID, "email": "email@example.com"},
        "distribution_credentials": {
            "distribution_credentials_id": credential.id,
            "provider": "quay",
            "comment": credential.comment,
            "scopes": credential.scopes,
            "created": credential.created,
        }
    })
}

fn forbidden(scope: &str) -> Answer {
    Answer::json(
        403,
        json!({"category": "INSUFFICIENT_PERMISSIONS", "message": "User does not have sufficient permissions.", "details": format!("Check that your account has the '{scope}' scope for this project."), "request_id": new_id()}),
    )
}

fn invalid_json(details: &str) -> Answer {
    Answer::json(
        400,
        json!({"category": "INVALID_JSON", "message": "Invalid JSON submitted.", "details": details, "request_id": new_id()}),
    )
}

fn not_found_credential() -> Answer {
    Answer::json(
        404,
        json!({"err_code": "NOT_FOUND", "err_msg": "Distribution credentials not found.", "request_id": new_id()}),
    )
}

fn is_collection(path: &str) -> bool {
    path.ends_with("/distribution/credentials") || path.ends_with("/distribution/credentials/")
}

/// `…/distribution/credentials/{id}`
fn is_credential(path: &str) -> bool {
    path.trim_end_matches('/')
        .rsplit_once('/')
        .is_some_and(|(parent, _)| parent.ends_with("/distribution/credentials"))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn looks_like_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A uuid-v4-looking id, distinct within a test run.
fn new_id() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let a = nanos ^ n.rotate_left(32) ^ u64::from(std::process::id());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        n as u16 & 0xfff,
        (a >> 4) as u16 & 0xfff,
        (a ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)) & 0xffff_ffff_ffff
    )
}

/// 64 uppercase alphanumerics, like a Quay robot token.
fn new_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut seed = COUNTER.fetch_add(1, Ordering::Relaxed)
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
    (0..64)
        .map(|_| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ALPHABET[(seed >> 33) as usize % ALPHABET.len()] as char
        })
        .collect()
}

/// RFC 3339 UTC with microseconds, like the API's `created`.
fn now_rfc3339() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        now.subsec_micros()
    )
}
