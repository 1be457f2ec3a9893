use std::process::ExitCode;

use clap::Parser;
use vobiz_billing::{cli, error, logging};

// Extract and normalize allocate and free millions of short strings; mimalloc does that at
// a fraction of glibc malloc's cost (it took a fifth of normalize's CPU time in `make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::argument_error(e),
    };
    logging::init(cli.log_format, cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(error::EXIT_ERROR);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", error::one_line(&err));
            error::exit_code(&err)
        }
    }
}
