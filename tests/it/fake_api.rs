//! The fake Deepgram API itself (tests/support/fake_deepgram.rs): its state, its checks and its
//! faults, spoken to over raw HTTP. Here once, instead of in every test binary that uses it.

use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use support::fake_deepgram::*;

fn call(
    fake: &FakeDeepgram,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", fake.port())).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(key) = key {
        request.push_str(&format!("Authorization: Token {key}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

const BODY: &str = r#"{"comment":"c","scopes":["self-hosted:product:api"],"provider":"quay"}"#;

fn collection() -> String {
    format!("/v1/projects/{PROJECT_ID}/self-hosted/distribution/credentials")
}

#[test]
fn create_list_get_delete_round_trip_in_both_shapes() {
    for shape in [Shape::Flat, Shape::Wrapped] {
        let fake = FakeDeepgram::start();
        fake.set_shape(shape);
        let (status, body) = call(&fake, "POST", &collection(), Some(VALID_KEY), BODY);
        assert_eq!(status, 200, "{body}");
        let created: Value = serde_json::from_str(&body).unwrap();
        let inner = if shape == Shape::Flat {
            &created
        } else {
            &created["distribution_credentials"]
        };
        let id = inner["distribution_credentials_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(inner["secret"].as_str().unwrap().len(), 64);
        assert_eq!(created.get("username").is_some(), shape == Shape::Flat);
        let (_, list) = call(&fake, "GET", &collection(), Some(VALID_KEY), "");
        assert!(list.contains(&id) && !list.contains("secret"), "{list}");
        let (status, _) = call(
            &fake,
            "GET",
            &format!("{}/{id}", collection()),
            Some(VALID_KEY),
            "",
        );
        assert_eq!(status, 200);
        let (status, message) = call(
            &fake,
            "DELETE",
            &format!("{}/{id}", collection()),
            Some(VALID_KEY),
            "",
        );
        assert_eq!(
            (status, message.contains("Successfully deleted")),
            (200, true)
        );
        assert!(fake.credentials().is_empty());
        assert_eq!(fake.creates(), 1);
    }
}

#[test]
fn auth_permissions_and_body_are_checked() {
    let fake = FakeDeepgram::start();
    assert_eq!(call(&fake, "GET", "/v1/projects", None, "").0, 401);
    fake.add_key("readonly", false);
    let (status, body) = call(&fake, "POST", &collection(), Some("readonly"), BODY);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("INSUFFICIENT_PERMISSIONS"));
    let (status, body) = call(
        &fake,
        "POST",
        &collection(),
        Some(VALID_KEY),
        r#"{"comment":"c","scopes":["x"]}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains("missing field `provider`"), "{body}");
    let other =
        "/v1/projects/00000000-0000-4000-8000-000000000000/self-hosted/distribution/credentials";
    assert!(
        call(&fake, "POST", other, Some(VALID_KEY), BODY)
            .1
            .contains("PROJECT_NOT_FOUND")
    );
    assert_eq!(fake.credentials().len(), 0);
    assert_eq!(fake.creates(), 3);
}

#[test]
fn faults_are_consumed_in_order_and_counted() {
    let fake = FakeDeepgram::start();
    fake.push_fault(
        "POST",
        "/distribution/credentials",
        Fault::Status {
            status: 502,
            headers: vec![],
            body: "bad gateway".into(),
            acted: true,
        },
    );
    fake.push_fault("POST", "/distribution/credentials", Fault::Hangup);
    assert_eq!(
        call(&fake, "POST", &collection(), Some(VALID_KEY), BODY).0,
        502
    );
    assert_eq!(
        call(&fake, "POST", &collection(), Some(VALID_KEY), BODY).0,
        0
    );
    assert_eq!(
        call(&fake, "POST", &collection(), Some(VALID_KEY), BODY).0,
        200
    );
    assert_eq!(
        (fake.creates(), fake.credentials().len()),
        (3, 3),
        "502 and hang-up acted"
    );
}

#[test]
fn sticky_faults_last_and_operations_are_counted_apart() {
    let fake = FakeDeepgram::start();
    let id = fake.insert_credential("by hand", "2020-01-01T00:00:00Z");
    let one = format!("{}/{id}", collection());
    fake.set_sticky_fault("GET", &id, FakeDeepgram::status_fault(500));
    assert_eq!(call(&fake, "GET", &one, Some(VALID_KEY), "").0, 500);
    assert_eq!(call(&fake, "GET", &one, Some(VALID_KEY), "").0, 500);
    fake.clear_sticky_faults();
    assert_eq!(call(&fake, "GET", &one, Some(VALID_KEY), "").0, 200);
    assert_eq!(
        call(&fake, "GET", &collection(), Some(VALID_KEY), "").0,
        200
    );
    assert!(fake.remove_credential(&id));
    assert_eq!(call(&fake, "GET", &one, Some(VALID_KEY), "").0, 404);
    assert_eq!(call(&fake, "DELETE", &one, Some(VALID_KEY), "").0, 404);
    assert_eq!((fake.gets(), fake.lists(), fake.deletes()), (4, 1, 1));
    assert_eq!(fake.creates(), 0);
}

#[test]
fn dropping_stops_the_server() {
    let fake = FakeDeepgram::start();
    let port = fake.port();
    drop(fake);
    let answered = TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut s| {
        let _ = s.write_all(b"GET /v1/projects HTTP/1.1\r\n\r\n");
        let mut buf = String::new();
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        s.read_to_string(&mut buf).is_ok_and(|n| n > 0)
    });
    assert!(!answered);
}
