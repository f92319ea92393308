//! The TLS stack of every HTTP client of ours, chosen per platform here and nowhere else: the
//! configuration ureq gets, and how a failed handshake is told apart from a lost answer.
//!
//! Linux (and any other unix): rustls with ring and the platform verifier, which on Linux is the
//! system CA store as rustls-native-certs finds it, honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`
//! (a company CA works as it does for curl); the binary needs no system TLS library. macOS and
//! Windows: the platform's own TLS through native-tls (Security.framework, SChannel), which
//! trusts the OS certificate store; ring's C code would need the Apple SDK to cross-compile.
//! Cargo.toml enables the matching `ureq` feature per target. Never turns verification off.

use ureq::tls::TlsConfig;

/// Why a TLS connection failed before anything was sent, for [`crate::deepgram`]'s errors.
pub enum TlsFailure {
    /// The server's certificate was refused: unknown issuer, expired, wrong name.
    Certificate(String),
    /// Any other failure to set up TLS (no common protocol, no CA store, a refusing peer).
    Handshake(String),
}

/// The TLS configuration every agent uses on this platform.
pub fn config() -> TlsConfig {
    platform::config()
}

/// The TLS failure inside `err`, when it happened while setting up the connection (so no byte
/// of the request was sent). A TLS error later in the exchange is not one of these.
pub fn failure(err: &ureq::Error) -> Option<TlsFailure> {
    platform::failure(err)
}

fn safe(err: &dyn std::fmt::Display) -> String {
    crate::sanitize::terminal_safe(&err.to_string())
}

#[cfg(not(any(target_os = "macos", target_os = "windows")))]
mod platform {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

    use super::{TlsFailure, safe};

    pub fn config() -> TlsConfig {
        TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::PlatformVerifier)
            .build()
    }

    pub fn failure(err: &ureq::Error) -> Option<TlsFailure> {
        use rustls::{AlertDescription as A, Error as E};
        let rustls = match err {
            // Raised while building the TLS client (e.g. no CA certificate found at all).
            ureq::Error::Rustls(e) => return Some(TlsFailure::Handshake(safe(e))),
            ureq::Error::Tls(reason) => return Some(TlsFailure::Handshake(reason.to_string())),
            ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<E>()?,
            _ => return None,
        };
        match rustls {
            E::InvalidCertificate(cert) => Some(TlsFailure::Certificate(certificate_reason(cert))),
            E::NoCertificatesPresented => Some(TlsFailure::Certificate(
                "the server presented no certificate".into(),
            )),
            E::PeerIncompatible(_)
            | E::InappropriateHandshakeMessage { .. }
            | E::UnsupportedNameType
            | E::General(_)
            | E::AlertReceived(
                A::HandshakeFailure
                | A::ProtocolVersion
                | A::InsufficientSecurity
                | A::BadCertificate
                | A::UnknownCA
                | A::CertificateRequired
                | A::IllegalParameter
                | A::UnrecognisedName,
            ) => Some(TlsFailure::Handshake(safe(rustls))),
            _ => None,
        }
    }

    fn certificate_reason(cert: &rustls::CertificateError) -> String {
        use rustls::CertificateError as C;
        match cert {
            C::UnknownIssuer => "unknown issuer: no trusted CA signed it".into(),
            C::Expired => "the certificate has expired".into(),
            C::NotValidYet => "the certificate is not valid yet".into(),
            C::NotValidForName => "the certificate is not valid for this host name".into(),
            C::Revoked => "the certificate was revoked".into(),
            other => safe(other),
        }
    }
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
mod platform {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

    use super::{TlsFailure, safe};

    pub fn config() -> TlsConfig {
        // With native-tls, `PlatformVerifier` means the OS store native-tls loads by default.
        TlsConfig::builder()
            .provider(TlsProvider::NativeTls)
            .root_certs(RootCerts::PlatformVerifier)
            .build()
    }

    /// native-tls reports a refused certificate and a failed handshake alike, before anything
    /// is sent: both are definite failures, named as a handshake failure.
    pub fn failure(err: &ureq::Error) -> Option<TlsFailure> {
        match err {
            ureq::Error::NativeTls(e) => Some(TlsFailure::Handshake(safe(e))),
            ureq::Error::Tls(reason) => Some(TlsFailure::Handshake(reason.to_string())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use ureq::tls::{RootCerts, TlsProvider};

    use super::config;

    #[test]
    fn verification_is_never_disabled() {
        let config = config();
        assert!(!config.disable_verification());
        assert!(config.use_sni());
        assert!(config.client_cert().is_none());
    }

    #[cfg(not(any(target_os = "macos", target_os = "windows")))]
    #[test]
    fn linux_uses_rustls_with_the_platform_verifier() {
        let config = config();
        assert_eq!(config.provider(), TlsProvider::Rustls);
        assert!(matches!(config.root_certs(), RootCerts::PlatformVerifier));
    }

    #[cfg(any(target_os = "macos", target_os = "windows"))]
    #[test]
    fn macos_and_windows_use_the_os_tls_and_store() {
        let config = config();
        assert_eq!(config.provider(), TlsProvider::NativeTls);
        assert!(matches!(config.root_certs(), RootCerts::PlatformVerifier));
    }
}
