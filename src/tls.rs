//! The TLS stack of the Deepgram API client, chosen per platform here and nowhere else.
//!
//! Linux (and any other unix): rustls with ring and Mozilla's roots (webpki), so the binary
//! needs no system TLS library. macOS and Windows: the platform's own TLS through native-tls
//! (Security.framework, SChannel), which trusts the OS certificate store, so a company root CA
//! installed there is honoured; ring's C code would need the Apple SDK to cross-compile.
//! Cargo.toml enables the matching `ureq` feature per target. Never turns verification off.

use ureq::tls::TlsConfig;

/// The TLS configuration every Deepgram API agent uses on this platform.
pub fn config() -> TlsConfig {
    platform::config()
}

#[cfg(not(any(target_os = "macos", target_os = "windows")))]
mod platform {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

    pub fn config() -> TlsConfig {
        TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::WebPki)
            .build()
    }
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
mod platform {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

    pub fn config() -> TlsConfig {
        // With native-tls, `PlatformVerifier` means the OS store native-tls loads by default.
        TlsConfig::builder()
            .provider(TlsProvider::NativeTls)
            .root_certs(RootCerts::PlatformVerifier)
            .build()
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
    fn linux_uses_rustls_with_mozilla_roots() {
        let config = config();
        assert_eq!(config.provider(), TlsProvider::Rustls);
        assert!(matches!(config.root_certs(), RootCerts::WebPki));
    }

    #[cfg(any(target_os = "macos", target_os = "windows"))]
    #[test]
    fn macos_and_windows_use_the_os_tls_and_store() {
        let config = config();
        assert_eq!(config.provider(), TlsProvider::NativeTls);
        assert!(matches!(config.root_certs(), RootCerts::PlatformVerifier));
    }
}
