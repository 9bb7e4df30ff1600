//! The `embedmap` binary: the window, or a headless subcommand.

use std::process::ExitCode;

use clap::Parser;
use embedmap::cli::Cli;
use embedmap::worker::LoadSource;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Name the compute threads; an error means a pool already exists, which is fine.
    let _ = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("embedmap-compute-{i}")).build_global();
    let result = match cli.command {
        Some(cmd) => embedmap::cli::run(cmd),
        None => {
            let source = cli.file.map_or(LoadSource::Demo, LoadSource::File);
            let bench = match (cli.benchmark_frames, cli.benchmark_tuning) {
                (Some(n), _) => Some(embedmap::app::Benchmark::Frames(n)),
                (None, Some(p)) => Some(embedmap::app::Benchmark::Tuning(p)),
                (None, None) => None,
            };
            embedmap::app::run(source, cli.load.options(), bench)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Finished, with rows that could not be labelled (listed above): not a plain failure.
            if e.downcast_ref::<embedmap::cli::assign::SomeRowsBad>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
