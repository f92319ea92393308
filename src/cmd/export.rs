//! `export`: a Kubernetes pull secret (`kubernetes.io/dockerconfigjson`) for a provisioning
//! registry, for `kubectl apply -f -` and the deepgram-self-hosted chart's
//! `global.pullSecretRef`.
//!
//! Provisions first if needed, writes only to stdout, and refuses to write the secret to a
//! terminal (where it would sit in scrollback) unless `--force`.

use std::io::{self, IsTerminal, Write};

use crate::calllog::Call;
use crate::cli::ExportArgs;
use crate::config::Config;
use crate::credential::{self, Outcome, Session};
use crate::error::{CommandKind, Error};
use crate::export::{self, ExportFormat};
use crate::registry;
use crate::store::Store;

pub fn run(args: &ExportArgs, out: &mut impl Write, call: &mut Call) -> Result<(), Error> {
    let format: ExportFormat = args.format.as_deref().unwrap_or("secret").parse().map_err(
        |err: export::ExportError| Error::command(CommandKind::Usage, format!("export: {err}")),
    )?;
    let name = args.name.as_deref().unwrap_or(export::DEFAULT_SECRET_NAME);
    let namespace = args.namespace.as_deref();
    for value in [Some(name), namespace].into_iter().flatten() {
        export::validate_name(value)
            .map_err(|err| Error::command(CommandKind::Usage, format!("export: {err}")))?;
    }
    if io::stdout().is_terminal() && !args.force {
        return Err(Error::command(CommandKind::Refused,
            "export: refusing to print a secret to a terminal: pipe it (`| kubectl apply -f -`) or pass --force"
                .into(),
        ));
    }
    let config = Config::load()?;
    let key = match args.registry.as_deref() {
        Some(registry) => registry::canonical(registry),
        None => config.registries.first().cloned().ok_or_else(|| {
            Error::command(
                CommandKind::Usage,
                "export: no provisioning registry is configured: pass --registry".into(),
            )
        })?,
    };
    call.server = Some(key.clone());
    let store = Store::open(&config)?;
    let session = Session::new(config, store);
    let credential = match credential::serve(&session, &key)? {
        Outcome::Served(answer) => {
            call.outcome = Some(answer.how.as_str());
            answer.credential
        }
        Outcome::NotProvisioned => {
            return Err(Error::command(
                CommandKind::NotProvisioned,
                format!(
                    "export: nothing is stored for {key} and it is not a provisioning registry: `docker login {key}` first, or add it to registries"
                ),
            ));
        }
        Outcome::NoApiKey(hint) | Outcome::Unavailable(hint) => {
            return Err(Error::command(CommandKind::Api, format!("export: {hint}")));
        }
    };
    let text = export::render(
        format,
        name,
        namespace,
        &key,
        &credential.username,
        credential.secret.expose(),
    );
    out.write_all(text.as_bytes()).map_err(Error::Output)
}
