//! Process resource figures for manifests and benchmarks.

/// Peak resident set size of this process in MiB (Linux `VmHWM`), if known.
pub fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// CPU time this process has used so far (user + system, all threads) in seconds, if known:
/// on a shared 2-core machine a steadier measure of work than wall time.
pub fn cpu_seconds() -> Option<f64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given and reports failure by its return value.
    #[allow(unsafe_code, reason = "getrusage(2) through libc: std has no CPU-time API")]
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return None;
        }
        usage.assume_init()
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}

/// Raise this process's soft limit of open files to its hard limit (at most 65,536). A large
/// account's sorts keep up to three merges of 128 runs open at once, beside the Parquet
/// writers and the API's connections: about 400 files. Linux's usual soft limit of 1,024
/// leaves room for that; a soft limit of 256 (some containers and cron setups have one) does
/// not, and a whale's run would fail half-way with "too many open files". The hard limit is
/// what the administrator allows; the soft one is only a default, raised by any process that
/// needs more (Go's runtime does so for every program). Nothing changes where the limit
/// cannot be read or raised: the run then fails as it would have, naming the file.
pub fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct it is given, setrlimit reads it; both report failure
    // by their return value.
    #[allow(unsafe_code, reason = "getrlimit(2) and setrlimit(2) through libc: std has no API")]
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let wanted = limit.rlim_max.min(65_536);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Hand the memory a finished stage freed back to the OS now. The allocator (mimalloc, in the
/// binary) otherwise keeps freed pages for a few seconds for reuse, which suits a stage's own
/// steady churn but lets the next stage's working set pile on top of the last one's, so a
/// run's peak was the sum of two stages' peaks. Harmless where mimalloc is not the global
/// allocator (the tests): it then collects mimalloc's own, empty heap.
pub fn release_free_memory() {
    // Links mimalloc (and with it `mi_collect`) into every binary of the crate, the tests too.
    use mimalloc as _;
    #[allow(unsafe_code, reason = "mimalloc's C API: the Rust bindings do not wrap mi_collect")]
    unsafe extern "C" {
        fn mi_collect(force: bool);
    }
    // SAFETY: mi_collect takes no pointers; it frees and returns to the OS what is unused.
    #[allow(unsafe_code, reason = "a call into mimalloc's C API")]
    unsafe {
        mi_collect(true);
    }
}
