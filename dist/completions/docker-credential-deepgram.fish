# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_docker_credential_deepgram_global_optspecs
    string join \n v/version h/help
end

function __fish_docker_credential_deepgram_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_docker_credential_deepgram_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_docker_credential_deepgram_using_subcommand
    set -l cmd (__fish_docker_credential_deepgram_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -s v -l version -d 'Print the name and version and exit (the same as the `version` command)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "login" -d 'Save a Deepgram API key (read from stdin, or prompted without echo)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "logout" -d 'Remove the saved Deepgram API key'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "status" -d 'Show stored credentials, their Deepgram ids and unfinished creates'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "doctor" -d 'Check the whole chain: PATH, client configs, keychain, API key, the registry itself'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "revoke" -d 'Delete the Deepgram credential of a registry, then the local copy'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "rotate" -d 'Replace the Deepgram credential of a registry with a new one'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "prune" -d 'Delete this install\'s orphaned Deepgram credentials'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "configure" -d 'Register this helper with Docker and podman/skopeo/buildah, or write the kubelet\'s config'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "export" -d 'Print a Kubernetes pull secret for a provisioning registry'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "kubelet" -d 'Answer one kubelet CredentialProviderRequest on stdin'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "get" -d 'Docker protocol: print the credential for the server name on stdin'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "store" -d 'Docker protocol: store the {"ServerURL","Username","Secret"} JSON on stdin'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "erase" -d 'Docker protocol: erase the local copy for the server name on stdin'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "list" -d 'Docker protocol: print stored servers and usernames as JSON, never a secret'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "version" -d 'Print the name and version'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand login" -l project -d 'Also save ID as project_id in config.toml, so that credentials are created in that project (it must be one the key sees)' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand logout" -l all -d 'Also erase every stored registry credential (the local copies: the Deepgram credentials stay in the project)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand status" -l json -d 'Print the same facts as one JSON object'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand status" -l remote -d 'Also list every distribution credential the API key sees in the project, each marked current, orphan or other (needs the network and an API key)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand doctor" -l registry -d 'Check only this provisioning registry (default: all of them)' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand doctor" -l kubelet-config -d 'The kubelet\'s credential provider config to check (default: /etc/kubernetes/credential-provider.yaml, when it exists)' -r -F
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand doctor" -l json -d 'Print the report as one JSON object: {"ok", "checks": [{"name", "status", "detail", "fix"}]}'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand doctor" -l offline -d 'Skip every check that needs the network (the API and the registry); they show as skip'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand revoke" -l registry -d 'The provisioning registry whose credential to revoke (default: the first one, quay.io)' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand revoke" -l all -d 'Every credential this install created: those in use (then their local copies), retiring, to delete and orphaned ones (`install.sh --uninstall --purge` uses this)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand revoke" -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand revoke" -l json -d 'Print what was done as one JSON object'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand rotate" -l registry -d 'The provisioning registry whose credential to replace (default: the first one, quay.io)' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand rotate" -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand rotate" -l json -d 'Print what was done as one JSON object'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand rotate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand prune" -l older-than -d 'With --all-installs: only credentials older than this duration (e.g. 720h)' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand prune" -l dry-run -d 'Print what would be deleted and delete nothing'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand prune" -l yes -d 'Do not ask for confirmation (needed without a terminal)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand prune" -l json -d 'Print the plan and what was done as one JSON object'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand prune" -l all-installs -d 'Also delete other installs\' tagged credentials created before now minus --older-than (nodes that are gone); never this install\'s current one'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -l kubelet-config -d 'With --kubelet: where to write the provider config (default /etc/kubernetes/credential-provider.yaml)' -r -F
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -l state-dir -d 'With --kubelet: the absolute directory in which the plugin keeps the node\'s file store (default /var/lib/docker-credential-deepgram)' -r -f -a "(__fish_complete_directories)"
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -l dry-run -d 'Print what would change and write nothing (with --kubelet: print the provider config)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -l undo -d 'Remove what earlier runs changed, as recorded in configured.json'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -l force -d 'Take over a registry that another credential helper serves (--undo gives it back); with --kubelet, replace a different provider config, keeping a .bak'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -l migrate -d 'Move plaintext logins for the provisioning registries into the store (the default)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -l no-migrate -d 'Leave plaintext logins for the provisioning registries in the client files and only report them'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -l kubelet -d 'Write the kubelet\'s CredentialProviderConfig for this binary instead of configuring Docker and podman'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand configure" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand export" -l registry -d 'The provisioning registry to export (default: the first of `registries` in config.toml)' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand export" -l name -d 'Name of the Secret (default dg-regcred)' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand export" -l namespace -d 'Namespace of the Secret (default: none, so kubectl uses its current namespace)' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand export" -l format -d 'What to print: `secret`, a Secret manifest (the default), or `dockerconfigjson`, only the Secret\'s .dockerconfigjson JSON' -r
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand export" -l force -d 'Print even when stdout is a terminal (the secret then stays in its scrollback)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand kubelet" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "login" -d 'Save a Deepgram API key (read from stdin, or prompted without echo)'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "logout" -d 'Remove the saved Deepgram API key'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "status" -d 'Show stored credentials, their Deepgram ids and unfinished creates'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "doctor" -d 'Check the whole chain: PATH, client configs, keychain, API key, the registry itself'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "revoke" -d 'Delete the Deepgram credential of a registry, then the local copy'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "rotate" -d 'Replace the Deepgram credential of a registry with a new one'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "prune" -d 'Delete this install\'s orphaned Deepgram credentials'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "configure" -d 'Register this helper with Docker and podman/skopeo/buildah, or write the kubelet\'s config'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "export" -d 'Print a Kubernetes pull secret for a provisioning registry'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "kubelet" -d 'Answer one kubelet CredentialProviderRequest on stdin'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "completions" -d 'Print a shell completion script'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "get" -d 'Docker protocol: print the credential for the server name on stdin'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "store" -d 'Docker protocol: store the {"ServerURL","Username","Secret"} JSON on stdin'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "erase" -d 'Docker protocol: erase the local copy for the server name on stdin'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "list" -d 'Docker protocol: print stored servers and usernames as JSON, never a secret'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "version" -d 'Print the name and version'
complete -c docker-credential-deepgram -n "__fish_docker_credential_deepgram_using_subcommand help; and not __fish_seen_subcommand_from login logout status doctor revoke rotate prune configure export kubelet completions get store erase list version help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
