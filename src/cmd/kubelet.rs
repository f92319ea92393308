//! `kubelet`: one answer to the kubelet's exec credential-provider plugin protocol.
//!
//! Reads a `CredentialProviderRequest` on stdin, answers a `CredentialProviderResponse` with the
//! same apiVersion on stdout. An image from a provisioning registry gets that registry's
//! credential (provisioned once per node: the store and the provisioning lock live in the
//! config directory, which survives kubelet restarts); any other image gets a valid response
//! with empty `auth`, without touching the store or the network. Errors: non-zero exit and one
//! line on stderr, which the kubelet shows.

use std::io::{Read, Write};

use crate::calllog::Call;
use crate::config::Config;
use crate::credential::{self, Outcome, Session};
use crate::error::{CommandKind, Error};
use crate::kubelet::{self, Auth};
use crate::registry;
use crate::store::Store;

pub fn run(stdin: &mut impl Read, out: &mut impl Write, call: &mut Call) -> Result<(), Error> {
    let mut input = Vec::new();
    stdin
        .take(kubelet::MAX_REQUEST_BYTES as u64 + 1)
        .read_to_end(&mut input)
        .map_err(|err| {
            Error::command(
                CommandKind::Io,
                format!("kubelet: cannot read the request: {err}"),
            )
        })?;
    let request = kubelet::parse_request(&input)
        .map_err(|err| Error::command(CommandKind::Input, err.to_string()))?;
    let registry_host = kubelet::image_registry(&request.image);
    let key = registry::canonical(&registry_host);
    let config = Config::load()?;
    let cache_duration = crate::duration::format(config.kubelet_cache_duration);
    crate::debug!("kubelet request for {} (registry {key})", request.image);

    if !config.is_provisioning_registry(&key) {
        let response = kubelet::render_response(request.api_version, None, &cache_duration);
        return out.write_all(response.as_bytes()).map_err(Error::Output);
    }
    call.server = Some(key.clone());
    let store = Store::open(&config)?;
    let session = Session::new(config, store);
    let config = &session.config;
    // A credential retired here stays live at least as long as the kubelet may cache it.
    credential::retire::note_kubelet_cache(&session, config.kubelet_cache_duration);
    let credential = match credential::serve(&session, &key)? {
        Outcome::Served(answer) => {
            call.outcome = Some(answer.how.as_str());
            Some(answer.credential)
        }
        // provision = "never" and nothing stored: the kubelet pulls without credentials.
        Outcome::NotProvisioned => None,
        // The kubelet shows this line in its events: say exactly what to run on the node.
        Outcome::NoApiKey(_) => {
            let binary = std::env::current_exe()
                .map(|path| path.display().to_string())
                .unwrap_or_else(|_| crate::NAME.to_string());
            return Err(Error::command(
                CommandKind::NoApiKey,
                format!(
                    "kubelet: no Deepgram API key on this node to create credentials for {key}: save one with `{}`, or set {} in the provider config's env",
                    super::node_login_command(&config.dir, &binary),
                    crate::env::DEEPGRAM_API_KEY
                ),
            ));
        }
        Outcome::Unavailable(hint) => return Err(Error::command(CommandKind::Api, hint)),
    };
    let auth = credential.as_ref().map(|credential| Auth {
        registry: &registry_host,
        username: &credential.username,
        password: credential.secret.expose(),
    });
    let response = kubelet::render_response(request.api_version, auth, &cache_duration);
    out.write_all(response.as_bytes()).map_err(Error::Output)
}
