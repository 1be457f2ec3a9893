use std::process::ExitCode;

use clap::Parser;
use vobiz_billing::{cli, error, logging};

// Extract and normalize allocate and free millions of short strings; mimalloc does that at
// a fraction of glibc malloc's cost (it took a fifth of normalize's CPU time in `make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long mimalloc keeps freed memory before giving it back to the OS. A run's working set
/// is steady (the next account's rows and the next row group's arrays reuse, within seconds,
/// what the last ones freed), and with mimalloc's default of one second `make bench` page-
/// faulted (and the kernel zeroed) the same memory over and over. Four seconds halve its page
/// faults, cut its kernel time by a sixth and its user time by 3-6%, for 25-50 MiB more peak
/// memory (410-430 MiB, within the 512 MiB budget).
const PURGE_DELAY_MS: std::ffi::c_long = 4_000;

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (include/mimalloc.h); the Rust
/// bindings do not name it.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

#[allow(
    unsafe_code,
    reason = "mimalloc's option setter is a C function the bindings do not wrap"
)]
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

fn main() -> ExitCode {
    // SAFETY: sets one of mimalloc's plain integer options, which it reads when it purges.
    #[allow(unsafe_code, reason = "a call into mimalloc's C API")]
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS)
    };
    vobiz_billing::resources::raise_open_file_limit();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The option index is mimalloc's, not ours: if an upgrade moved it, its default (1000 ms
    /// in mimalloc 3) would no longer be what this index reads.
    #[test]
    fn the_purge_delay_option_is_where_we_set_it() {
        // SAFETY: reads and sets plain integer options.
        #[allow(unsafe_code, reason = "calls into mimalloc's C API")]
        unsafe {
            assert_eq!(mi_option_get(MI_OPTION_PURGE_DELAY), 1_000);
            mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
            assert_eq!(mi_option_get(MI_OPTION_PURGE_DELAY), PURGE_DELAY_MS);
        }
    }
}
