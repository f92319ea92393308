//! The network side end to end: the api_url rule, retries against a misbehaving API, server
//! text on the terminal, TLS trust (a test CA through SSL_CERT_FILE, or none), and a CONNECT
//! proxy with NO_PROXY. Real binary, file store, loopback servers only.

use crate::support;

use crate::support::proxy;
use crate::support::tls;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use proxy::ConnectProxy;
use support::fake_deepgram::{FakeDeepgram, Fault};
use support::{ClosedPort, Run, TestEnv};
use tls::{API_HOST, TestCa};

const CREATE_PATH: &str = "/self-hosted/distribution/credentials";
const UNFINISHED: &str = "did not finish";
const NOT_FOUND: &str = "credentials not found in native keychain\n";

fn env_for(fake: &FakeDeepgram) -> TestEnv {
    let mut env = TestEnv::file_store();
    // Follow-up gets try again at once; the back-off tests set their own.
    env.point_at(fake).quick_retries();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_CONNECT_TIMEOUT", "2s");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REQUEST_TIMEOUT", "5s");
    env
}

fn failed(run: &Run) {
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
}

fn no_terminal_controls(run: &Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains(['\u{1b}', '\u{7}', '\u{202e}']), "{run:?}");
    }
}

fn fault(status: u16, headers: &[(&str, &str)], body: &str, acted: bool) -> Fault {
    Fault::Status {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.to_string(),
        acted,
    }
}

const API_503: &str = r#"{"err_code":"SERVICE_UNAVAILABLE","err_msg":"Try again later."}"#;

// --- api_url -------------------------------------------------------------------------------

#[test]
fn userinfo_in_api_url_is_refused_before_any_connection() {
    // The old prefix check read `127.a.b.c@[::1]` as a loopback host and sent the key in
    // clear text to the host after `@`.
    let listener = TcpListener::bind("[::1]:0").expect("IPv6 loopback");
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = FakeDeepgram::start();
    for url in [
        format!("http://127.a.b.c@[::1]:{port}"),
        format!("http://localhost@[::1]:{port}"),
        "http://127.0.0@evil.example".to_string(),
        "http://127.evil.example.com".to_string(),
    ] {
        let mut env = env_for(&fake);
        env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &url);
        let run = env.get("quay.io");
        failed(&run);
        assert!(
            run.stdout.contains("DOCKER_CREDENTIAL_DEEPGRAM_API_URL"),
            "{url}: {run:?}"
        );
        assert!(
            run.stdout.contains("user name or password") || run.stdout.contains("plain http"),
            "{url}: {run:?}"
        );
    }
    assert!(listener.accept().is_err(), "nothing connected to [::1]");
    assert!(fake.requests().is_empty());
}

// --- retries -------------------------------------------------------------------------------

#[test]
fn a_huge_retry_after_is_an_error_not_an_abort() {
    let fake = FakeDeepgram::start();
    fake.push_fault(
        "POST",
        CREATE_PATH,
        fault(429, &[("Retry-After", "18446744073709551615")], "", false),
    );
    let env = env_for(&fake);
    let run = env.get("quay.io");
    failed(&run);
    assert!(run.stdout.contains("429"), "{run:?}");
    assert_eq!(fake.creates(), 1);
    // No false "unfinished create": the 429 proved nothing was created.
    let next = env.get("quay.io");
    assert_eq!(next.code, 0, "{next:?}");
    assert!(!next.stderr.contains(UNFINISHED), "{next:?}");
}

#[test]
fn retry_after_zero_still_waits_the_backoff() {
    let fake = FakeDeepgram::start();
    for _ in 0..20 {
        fake.push_fault(
            "POST",
            CREATE_PATH,
            fault(503, &[("Retry-After", "0")], API_503, false),
        );
    }
    let mut env = env_for(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_RETRY_BUDGET", "3s");
    let run = env.get("quay.io");
    failed(&run);
    // Pauses of 0.5 s, then 1 s; the next (2 s) would end past the 3 s budget.
    assert_eq!(fake.creates(), 3, "{run:?}");
}

#[test]
fn retries_stop_after_five_creates_whatever_the_budget() {
    let fake = FakeDeepgram::start();
    for _ in 0..20 {
        fake.push_fault("POST", CREATE_PATH, fault(429, &[], "", false));
    }
    let mut env = env_for(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_RETRY_BUDGET", "60s");
    let run = env.get("quay.io");
    failed(&run);
    assert_eq!(fake.creates(), 5, "{run:?}");
}

#[test]
fn a_503_from_the_api_is_retried_but_a_gateways_503_is_ambiguous() {
    let fake = FakeDeepgram::start();
    fake.push_fault("POST", CREATE_PATH, fault(503, &[], API_503, false));
    let run = env_for(&fake).get("quay.io");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fake.creates(), 2);

    let fake = FakeDeepgram::start();
    fake.push_fault(
        "POST",
        CREATE_PATH,
        fault(503, &[], "<html>503 Service Unavailable</html>", true),
    );
    let env = env_for(&fake);
    let run = env.get("quay.io");
    failed(&run);
    assert!(run.stdout.contains("may have succeeded"), "{run:?}");
    assert_eq!(fake.creates(), 1, "never retried");
    let next = env.get("quay.io");
    assert!(next.stderr.contains(UNFINISHED), "{next:?}");
}

// --- server text -----------------------------------------------------------------------------

#[test]
fn server_text_cannot_drive_the_terminal() {
    let fake = FakeDeepgram::start();
    fake.push_fault(
        "POST",
        CREATE_PATH,
        fault(
            400,
            &[],
            r#"{"category":"INVALID\u001b[2J","message":"bad\u001b]0;owned\u0007 \u202eevil","request_id":"r\u0007"}"#,
            false,
        ),
    );
    let run = env_for(&fake).get("quay.io");
    failed(&run);
    assert!(run.stdout.contains("INVALID: bad evil"), "{run:?}");
    no_terminal_controls(&run);

    let fake = FakeDeepgram::start();
    fake.set_projects(&[
        ("11111111-1111-4111-8111-111111111111", "Staging\u{1b}[2J"),
        (
            "22222222-2222-4222-8222-222222222222",
            "\u{202e}Production\u{7}",
        ),
    ]);
    let mut env = env_for(&fake);
    env.unset("DEEPGRAM_PROJECT_ID");
    let run = env.get("quay.io");
    failed(&run);
    assert!(
        run.stdout.contains("Staging 1111") && run.stdout.contains("Production 2222"),
        "{run:?}"
    );
    no_terminal_controls(&run);
    let login = env.run(&["login"], fake.api_key().as_bytes());
    assert_eq!(login.code, 0, "{login:?}");
    assert!(login.stdout.contains("Staging (1111"), "{login:?}");
    no_terminal_controls(&login);
}

// --- TLS -------------------------------------------------------------------------------------

#[test]
fn https_works_when_the_ca_is_trusted_through_ssl_cert_file() {
    let ca = TestCa::new();
    let fake = FakeDeepgram::start_tls(ca.server.clone());
    let mut env = env_for(&fake);
    env.set("SSL_CERT_FILE", &ca.ca_file());
    assert!(fake.url().starts_with("https://"));
    let run = env.get("quay.io");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fake.creates(), 1);
}

#[test]
fn an_untrusted_certificate_is_a_definite_failure_naming_the_host() {
    let ca = TestCa::new();
    let fake = FakeDeepgram::start_tls(ca.server.clone());
    // The project id is set, so the first request is the create itself: a pending marker is
    // written before it, and must go again because nothing was sent.
    let env = env_for(&fake);
    let run = env.get("quay.io");
    failed(&run);
    for part in [
        "cannot verify the TLS certificate of 127.0.0.1",
        "unknown issuer",
        "SSL_CERT_FILE=",
        "update-ca-certificates",
    ] {
        assert!(run.stdout.contains(part), "{part}: {run:?}");
    }
    assert!(!run.stdout.contains("may have succeeded"), "{run:?}");
    assert!(fake.connections() >= 1, "the helper did connect");
    assert!(fake.requests().is_empty(), "no request reached the API");
    let status = env.run(&["status"], b"");
    assert!(!status.stdout.contains("unfinished"), "{status:?}");
    let again = env.get("quay.io");
    assert!(!again.stderr.contains(UNFINISHED), "{again:?}");
}

// --- proxies ---------------------------------------------------------------------------------

fn proxied_env(fake: &FakeDeepgram, ca: &TestCa, proxy: &ConnectProxy) -> TestEnv {
    let mut env = env_for(fake);
    env.set(
        "DOCKER_CREDENTIAL_DEEPGRAM_API_URL",
        &format!("https://{API_HOST}"),
    );
    env.set("SSL_CERT_FILE", &ca.ca_file());
    env.set("HTTPS_PROXY", &proxy.url());
    env.unset("DEEPGRAM_PROJECT_ID");
    env
}

#[test]
fn https_proxy_carries_the_api_through_a_connect_tunnel() {
    let ca = TestCa::new();
    let fake = FakeDeepgram::start_tls(ca.server.clone());
    let proxy = ConnectProxy::start(fake.port());
    let env = proxied_env(&fake, &ca, &proxy);
    let run = env.get("quay.io");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(proxy.tunnels() >= 1);
    assert!(
        proxy
            .targets()
            .iter()
            .all(|t| t == &format!("{API_HOST}:443")),
        "{:?}",
        proxy.targets()
    );
    assert_eq!(fake.creates(), 1);
}

#[test]
fn no_proxy_sends_the_host_direct() {
    let ca = TestCa::new();
    let fake = FakeDeepgram::start_tls(ca.server.clone());
    let proxy = ConnectProxy::start(fake.port());
    let mut env = proxied_env(&fake, &ca, &proxy);
    // TEST-NET-1 (RFC 5737) by address: no resolver is asked, and nothing answers there, so
    // the direct connect fails within the connect timeout. Through the proxy it would have
    // reached the fake.
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", "https://192.0.2.1");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_CONNECT_TIMEOUT", "1s");
    env.set("NO_PROXY", "example.org, 192.0.2.1");
    let started = Instant::now();
    let run = env.get("quay.io");
    // Direct, nothing answers: Docker's not-found, and why on stderr.
    assert_eq!(run.stdout, NOT_FOUND, "{run:?}");
    assert!(
        run.stderr.contains("cannot reach the Deepgram API") && run.stderr.contains("192.0.2.1"),
        "{run:?}"
    );
    assert_eq!(proxy.tunnels(), 0, "{:?}", proxy.targets());
    assert!(fake.requests().is_empty());
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_loopback_api_never_goes_through_the_proxy() {
    let fake = FakeDeepgram::start();
    let proxy = ConnectProxy::start(fake.port());
    let mut env = env_for(&fake);
    env.set("HTTPS_PROXY", &proxy.url());
    env.set("ALL_PROXY", &proxy.url());
    let run = env.get("quay.io");
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(proxy.tunnels(), 0);
}

// --- outages ---------------------------------------------------------------------------------

#[test]
fn a_closed_api_port_costs_about_the_connect_timeout_once() {
    let fake = FakeDeepgram::start();
    let mut env = env_for(&fake);
    let closed = ClosedPort::new();
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_API_URL", &closed.url());
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_CONNECT_TIMEOUT", "1s");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_RETRY_BUDGET", "30s");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "60s");
    let started = Instant::now();
    let run = env.get("quay.io");
    let first = started.elapsed();
    assert_eq!(run.stdout, NOT_FOUND, "{run:?}");
    assert!(
        run.stderr.contains("cannot reach the Deepgram API"),
        "{run:?}"
    );
    // Refused connections are retried only within connect_timeout, not the 30 s budget.
    assert!(first < Duration::from_secs(2), "took {first:?}");

    // Within the back-off: the same answer, and nothing connects. A listener on the port now
    // proves it: a request would reach it.
    let listener = closed.listen();
    listener.set_nonblocking(true).unwrap();
    let again = env.get("quay.io");
    assert_eq!(again.stdout, NOT_FOUND, "{again:?}");
    assert!(
        again.stderr.contains("cannot reach the Deepgram API")
            && again.stderr.contains("failure_backoff"),
        "{again:?}"
    );
    assert!(
        listener.accept().is_err(),
        "no connection within the back-off"
    );
}

#[test]
fn an_api_that_never_answers_is_ambiguous_once_then_remembered() {
    let fake = FakeDeepgram::start();
    fake.push_fault("POST", CREATE_PATH, Fault::Slow(Duration::from_secs(8)));
    let mut env = env_for(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_REQUEST_TIMEOUT", "2s");
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "60s");
    let run = env.get("quay.io");
    failed(&run);
    assert!(
        run.stdout.contains("may have succeeded") && run.stdout.contains("[dcd:"),
        "{run:?}"
    );
    let again = env.get("quay.io");
    assert_eq!(again.stdout, run.stdout, "the same answer: {again:?}");
    assert!(again.stderr.contains("failure_backoff"), "{again:?}");
    assert_eq!(fake.creates(), 1, "no second request");
    assert_eq!(fake.requests().len(), 1);

    // `0s` turns the back-off off: the next get tries again (and warns about the orphan).
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "0s");
    let retry = env.get("quay.io");
    assert_eq!(retry.code, 0, "{retry:?}");
    assert!(retry.stderr.contains(UNFINISHED), "{retry:?}");
    assert_eq!(fake.creates(), 2);
}

#[test]
fn login_clears_a_remembered_failure() {
    let fake = FakeDeepgram::start();
    fake.push_fault(
        "POST",
        CREATE_PATH,
        fault(
            400,
            &[],
            r#"{"category":"INVALID_REQUEST","message":"no"}"#,
            false,
        ),
    );
    let mut env = env_for(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "60s");
    let run = env.get("quay.io");
    failed(&run);
    assert!(run.stdout.contains("400"), "{run:?}");
    let remembered = env.get("quay.io");
    assert_eq!(remembered.stdout, run.stdout, "{remembered:?}");
    assert_eq!(fake.creates(), 1);
    env.run(&["login"], fake.api_key().as_bytes()).ok();
    let after = env.get("quay.io");
    assert_eq!(after.code, 0, "{after:?}");
    assert_eq!(
        fake.creates(),
        2,
        "the failed create and the one after login"
    );
}

#[test]
fn a_proxy_that_resets_the_connect_before_any_tunnel_gives_not_found() {
    let ca = TestCa::new();
    let fake = FakeDeepgram::start_tls(ca.server.clone());
    let proxy = ConnectProxy::resetting();
    let env = proxied_env(&fake, &ca, &proxy);
    let run = env.get("quay.io");
    // Nothing can have reached the API: Docker's not-found (public images still pull), no
    // "may have succeeded", no unfinished marker.
    assert_eq!(run.stdout, NOT_FOUND, "{run:?}");
    assert!(proxy.resets() >= 1, "{run:?}");
    assert!(!run.stderr.contains("may have succeeded"), "{run:?}");
    assert_eq!(fake.connections(), 0);
    let status = env.run(&["status"], b"");
    assert!(!status.stdout.contains("unfinished"), "{status:?}");
}

#[test]
fn ssl_cert_file_works_at_once_after_a_remembered_certificate_failure() {
    let ca = TestCa::new();
    let fake = FakeDeepgram::start_tls(ca.server.clone());
    let mut env = env_for(&fake);
    env.set("DOCKER_CREDENTIAL_DEEPGRAM_FAILURE_BACKOFF", "60s");
    let untrusted = env.get("quay.io");
    failed(&untrusted);
    assert!(untrusted.stdout.contains("SSL_CERT_FILE="), "{untrusted:?}");
    let replayed = env.get("quay.io");
    failed(&replayed);
    assert!(
        replayed.stderr.contains("no request is made"),
        "{replayed:?}"
    );
    // The error's own fix, applied: tried at once, not after the back-off.
    env.set("SSL_CERT_FILE", &ca.ca_file());
    let trusted = env.get("quay.io");
    assert_eq!(trusted.code, 0, "{trusted:?}");
    assert_eq!(fake.creates(), 1);
}
