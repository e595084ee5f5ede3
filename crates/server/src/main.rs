//! The `userpool` binary: parses the command line and runs the chosen command.

mod access_keys;
mod app;
mod audit;
mod backup;
mod cli;
mod demo;
mod keys;
mod listener;
mod mail;
mod master_key;
mod metrics;
mod seed;
mod sms;
mod telemetry;
mod triggers;
mod users;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(cli::run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("userpool: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
