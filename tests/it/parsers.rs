//! Bounded, seeded mutation fuzzing of every parser that reads untrusted input: Docker's
//! stdin (store JSON, server names), kubelet requests, Deepgram API error bodies, and
//! `config.toml`. Each starts from real samples, mutates them (flips, truncations,
//! insertions, splices), and asserts no panic plus the parser's own invariants. A fixed seed
//! makes any failure reproducible; the counts keep the whole file under a few seconds.

use docker_credential_deepgram::{config, deepgram, kubelet, protocol, registry};

/// xorshift64*: small, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"null",
    b"\\u0000",
    b"\\ud800",
    b"\xff",
    b"\xc3",
    b"\n",
    b"\r\n",
    b" ",
    b"/",
    b"//",
    b":443",
    b"https://",
    b"HTTP://",
    b"\t",
    b"=",
    b"\x00",
    b"\xe2\x80\xa8",
    b"1e999",
    b"-0",
    b"[]",
    b"{}",
    b"<token>",
];

fn mutate(rng: &mut Rng, sample: &[u8]) -> Vec<u8> {
    let mut data = sample.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(5) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.truncate(at),
            2 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(at..at, piece.iter().copied());
            }
            3 if !data.is_empty() => {
                let end = (at + rng.below(8)).min(data.len());
                data.drain(at..end);
            }
            _ => {
                let byte = rng.next() as u8;
                data.insert(at, byte);
            }
        }
    }
    data
}

fn corpus(rng: &mut Rng, samples: &[&[u8]], rounds: usize) -> Vec<Vec<u8>> {
    (0..rounds)
        .map(|_| {
            let sample = samples[rng.below(samples.len())];
            mutate(rng, sample)
        })
        .collect()
}

#[test]
fn store_input_never_panics_and_ok_means_complete() {
    let mut rng = Rng(0x5eed_0001);
    let samples: &[&[u8]] = &[
        b"{\"ServerURL\":\"https://quay.io\",\"Username\":\"alice\",\"Secret\":\"pw1\"}\n",
        b"{\"serverurl\":\"lc.example\",\"username\":\"\\u003ctoken\\u003e\",\"secret\":\"s\"} tail",
        b"{\n  \"ServerURL\": \"ml.example\",\n  \"Username\": \"mu\"\n}",
    ];
    for input in corpus(&mut rng, samples, 20_000) {
        let Ok(text) = protocol::read_input(&input[..]) else {
            continue;
        };
        if let Ok(credentials) = protocol::parse_store(&text) {
            assert!(!credentials.server_url.is_empty(), "{text:?}");
            assert_eq!(credentials.server_url.trim(), credentials.server_url);
            assert!(!credentials.username.is_empty(), "{text:?}");
        }
    }
}

#[test]
fn server_names_never_panic_and_normalise_consistently() {
    let mut rng = Rng(0x5eed_0002);
    let samples: &[&[u8]] = &[
        b"https://quay.io/",
        b"quay.io:443",
        b"https://index.docker.io/v1/refresh-token",
        b"[::1]:5000/team",
        b"localhost:5000?x=1#y",
    ];
    for input in corpus(&mut rng, samples, 20_000) {
        let Ok(text) = String::from_utf8(input) else {
            continue;
        };
        if let Ok(server) = protocol::parse_server(&text) {
            let key = registry::canonical(&server);
            assert_eq!(key, registry::canonical(&server), "deterministic");
            assert!(!key.ends_with('/'), "{server:?} -> {key:?}");
            let host = key.split('/').next().unwrap();
            assert_eq!(host, host.to_ascii_lowercase(), "{server:?} -> {key:?}");
            // Host names compare case-insensitively; paths below the root do not.
            if !server.contains(['/', '?', '#']) {
                assert!(
                    registry::same_registry(&server, &server.to_ascii_uppercase()),
                    "{server:?}"
                );
            }
        }
    }
}

#[test]
fn kubelet_requests_never_panic_and_ok_means_an_image() {
    let mut rng = Rng(0x5eed_0003);
    let samples: &[&[u8]] = &[
        br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"quay.io/deepgram/self-hosted-api:release-260812"}"#,
        br#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","kind":"CredentialProviderRequest","image":"ubuntu","serviceAccountToken":"t","serviceAccountAnnotations":{"a":"b"}}"#,
    ];
    for input in corpus(&mut rng, samples, 20_000) {
        if let Ok(request) = kubelet::parse_request(&input) {
            assert!(!request.image.trim().is_empty());
            let registry = kubelet::image_registry(&request.image);
            assert!(!registry.is_empty());
            let response = kubelet::render_response(request.api_version, None, "12h0m0s");
            let value: serde_json::Value = serde_json::from_str(&response).unwrap();
            assert_eq!(value["apiVersion"], request.api_version.as_str());
        }
    }
}

#[test]
fn api_error_bodies_never_panic_and_stay_on_one_line() {
    let mut rng = Rng(0x5eed_0004);
    let samples: &[&[u8]] = &[
        br#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"r"}"#,
        br#"{"category":"INVALID_JSON","message":"Invalid JSON submitted.","details":"missing field","request_id":"r"}"#,
        b"UUID parsing failed: invalid character\n",
    ];
    for input in corpus(&mut rng, samples, 20_000) {
        let text = String::from_utf8_lossy(&input);
        let detail = deepgram::parse_detail(&text).to_string();
        assert!(
            !detail.contains('\n') && !detail.contains('\r'),
            "{detail:?}"
        );
    }
}

#[test]
fn config_files_never_panic_and_errors_name_the_file() {
    let mut rng = Rng(0x5eed_0005);
    let samples: &[&[u8]] = &[
        b"store = \"file\"\nregistries = [\"quay.io\", \"localhost:5000\"]\nlock_timeout = \"2s\"\n",
        b"api_url = \"https://api.deepgram.com\"\nscopes = [\"self-hosted:product:api\"]\ncomment = \"c\"\nrequest_timeout = 7\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    for input in corpus(&mut rng, samples, 2_000) {
        std::fs::write(dir.path().join(config::CONFIG_FILE), &input).unwrap();
        if let Err(err) = config::Config::load_from(dir.path().to_path_buf()) {
            let message = err.to_string();
            assert!(
                message.contains("config.toml") || message.starts_with("environment variable"),
                "{message}"
            );
        }
    }
}
