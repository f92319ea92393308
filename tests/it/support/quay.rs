//! A loopback registry that authenticates like quay.io: `GET /v2/` answers 401 with a Bearer
//! challenge naming its token endpoint; `GET /v2/auth?service=..&scope=..` with Basic auth
//! answers 200 with a JWT-shaped token granting pull, or 401 with quay's exact messages for a
//! wrong secret and for an unknown (deleted) robot (quay `data/model/user.py`, see
//! shared/reference/lifecycle.md §4.2). It records every request and can be told to stall.
//! Dropping it stops it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct State {
    robots: BTreeMap<String, String>,
    requests: Vec<Request>,
    stall: Option<Duration>,
}

pub struct Quay {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stopping: Arc<AtomicBool>,
}

impl Quay {
    pub fn start() -> Quay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        {
            let state = Arc::clone(&state);
            let stopping = Arc::clone(&stopping);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || serve(stream, port, &state));
                }
            });
        }
        Quay {
            port,
            state,
            stopping,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Creates the robot, or regenerates its token.
    pub fn set_robot(&self, username: &str, secret: &str) {
        self.state()
            .robots
            .insert(username.to_string(), secret.to_string());
    }

    pub fn delete_robot(&self, username: &str) {
        self.state().robots.remove(username);
    }

    /// Every later request is read, then left unanswered for `wait`.
    pub fn stall(&self, wait: Duration) {
        self.state().stall = Some(wait);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state().requests.clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Quay {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut stream: TcpStream, port: u16, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_string());
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    let (stall, answer) = {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        state.requests.push(Request {
            path: path.clone(),
            query: query.clone(),
            authorization: authorization.clone(),
        });
        (
            state.stall,
            answer(&path, &query, authorization.as_deref(), port, &state),
        )
    };
    if let Some(wait) = stall {
        std::thread::sleep(wait);
        return;
    }
    let (status, extra, body) = answer;
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        if status == 200 { "OK" } else { "UNAUTHORIZED" },
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn unauthorized(message: &str) -> String {
    serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": {}}]})
        .to_string()
}

fn answer(
    path: &str,
    query: &str,
    authorization: Option<&str>,
    port: u16,
    state: &State,
) -> (u16, String, String) {
    let challenge = format!(
        "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/v2/auth\",service=\"quay.io\"\r\n"
    );
    match path {
        // quay's /v2/ understands only Bearer JWTs: anything else is 401 with the challenge.
        "/v2/" => (401, challenge, "true".to_string()),
        "/v2/auth" => {
            let credentials = authorization
                .and_then(|a| a.strip_prefix("Basic "))
                .and_then(|b| STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok());
            let Some((user, secret)) = credentials.as_deref().and_then(|c| c.split_once(':'))
            else {
                return (401, challenge, unauthorized("Invalid bearer token format"));
            };
            match state.robots.get(user) {
                None => (
                    401,
                    challenge,
                    unauthorized("Could not find robot with specified username"),
                ),
                Some(known) if known != secret => (
                    401,
                    challenge,
                    unauthorized(&format!(
                        "Could not find robot with username: {user} and supplied password."
                    )),
                ),
                Some(_) => {
                    let repository = query
                        .split('&')
                        .find_map(|p| p.strip_prefix("scope="))
                        .map(|s| s.replace("%3A", ":").replace("%2F", "/"))
                        .and_then(|s| s.split(':').nth(1).map(str::to_string))
                        .unwrap_or_default();
                    let claims = serde_json::json!({
                        "iss": "quay", "sub": user,
                        "access": [{"type": "repository", "name": repository, "actions": ["pull"]}]
                    });
                    let token = format!(
                        "{}.{}.c2lnbmF0dXJl",
                        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
                        URL_SAFE_NO_PAD.encode(claims.to_string())
                    );
                    (
                        200,
                        String::new(),
                        serde_json::json!({ "token": token }).to_string(),
                    )
                }
            }
        }
        _ => (404, String::new(), "{}".to_string()),
    }
}
