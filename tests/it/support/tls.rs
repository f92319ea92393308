//! A test CA and a server certificate made at test time (rcgen), and the rustls server config
//! that serves it, for the fake Deepgram API over TLS. The CA's PEM is written to a temp file
//! for `SSL_CERT_FILE`. Nothing here is trusted by the system: without that variable the
//! helper must refuse the certificate.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tempfile::TempDir;

/// The name the proxy tests use: only the test proxy "resolves" it.
pub const API_HOST: &str = "api.deepgram.test";

pub struct TestCa {
    /// Holds `ca_file`: removed when the CA is dropped.
    _dir: TempDir,
    /// The CA certificate, PEM, for `SSL_CERT_FILE`.
    pub ca_file: PathBuf,
    /// Serves a certificate for api.deepgram.test, localhost and 127.0.0.1 signed by the CA.
    pub server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "docker-credential-deepgram test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let server_params = CertificateParams::new(vec![
            API_HOST.to_string(),
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("test-ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(server_cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )
            .unwrap();
        TestCa {
            _dir: dir,
            ca_file,
            server: Arc::new(server),
        }
    }

    pub fn ca_file(&self) -> String {
        self.ca_file.display().to_string()
    }
}
