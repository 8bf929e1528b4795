//! The `kefu` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kefu::config::{Overrides, Settings};

#[derive(Parser, Debug)]
#[command(
    name = "kefu",
    version,
    about = "Self-hosted intelligent telephone agent"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Answer calls.
    Serve {
        /// Configuration file (TOML); bundled defaults without it.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Print the text of recordings (any WAV, 8 kHz µ-law included).
    #[cfg(feature = "speech")]
    Transcribe {
        /// The WAV files; with several, the model is loaded once and each
        /// prints `FILE<TAB>text`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Language code (en, zh, …) or auto.
        #[arg(long, default_value = "en")]
        language: String,
        /// Whisper model: base-q8_0, base, tiny.en, or a ggml file.
        #[arg(long, default_value = kefu::cli::transcribe::DEFAULT_MODEL)]
        model: String,
        /// Decoder threads (default: one per core; when other processes
        /// keep the cores busy, 1 is faster).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
    },
    /// Speak a text into a WAV file (Piper voice, or espeak-ng).
    #[cfg(feature = "speech")]
    Say(kefu::cli::say::SayArgs),
    /// Check, test and measure dialplans.
    #[command(subcommand)]
    Dialplan(kefu::cli::dialplan::DialplanCmd),
    /// Talk to a dialplan in the terminal (typed text instead of speech).
    Simulate(kefu::cli::simulate::SimulateArgs),
    /// Create, list and revoke API keys (in the database of `kefu serve`).
    ApiKey(kefu::cli::apikey::ApiKeyArgs),
    /// Validate a configuration file and exit.
    CheckConfig {
        /// The file.
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        #[cfg(feature = "speech")]
        Cmd::Transcribe {
            files,
            language,
            model,
            threads,
        } => ExitCode::from(kefu::cli::transcribe::run(
            &files,
            &language,
            &model,
            threads.map(usize::from),
        )),
        #[cfg(feature = "speech")]
        Cmd::Say(args) => kefu::cli::say::run(&args),
        Cmd::Dialplan(cmd) => kefu::cli::dialplan::run(&cmd),
        Cmd::ApiKey(args) => match kefu::cli::apikey::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kefu: {e:#}");
                ExitCode::from(2)
            }
        },
        Cmd::Simulate(args) => {
            kefu::logging::init_quiet();
            kefu::cli::simulate::run(&args)
        }
        Cmd::CheckConfig { config } => match Settings::load(Some(&config), &Overrides::default()) {
            Ok(_) => {
                println!("{}: ok", config.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("kefu: {e}");
                ExitCode::from(2)
            }
        },
        Cmd::Serve { config, overrides } => {
            let settings = match Settings::load(config.as_deref(), &overrides) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kefu: {e}");
                    return ExitCode::from(2);
                }
            };
            kefu::logging::init(&settings.log_level, settings.log_json);
            if let Ok(n) = rlimit::increase_nofile_limit(u64::MAX) {
                tracing::debug!(limit = n, "open files limit");
            }
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("kefu: cannot start runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(kefu::serve::run(settings)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("kefu: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
