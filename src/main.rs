//! Entry point: everything happens in `app::main`, which returns the exit code.

fn main() -> std::process::ExitCode {
    docker_credential_deepgram::app::main()
}
