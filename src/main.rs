//! The `virtprobe` command: parse, run, map errors to exit codes (0 ok, 1 check not met, 2 error).
//!
//! The C `main` is ours (`no_main`): Rust's runtime start-up would read `/proc/self/maps` and set
//! up an alternate signal stack to report stack overflows, a cost larger than many of the probe's
//! reads. What of it the command needs is done here: file descriptors 0–2 are kept open (so no
//! file the command opens can become its standard output), SIGPIPE is ignored (a closed pipe is
//! an error that `main` handles), and standard output is flushed before returning. The arguments
//! are taken from `argv` (musl, unlike glibc, does not hand them to `std::env::args` when Rust's
//! own `main` is not used); the environment reaches `std::env` as usual.

#![cfg_attr(not(test), no_main)]

mod app;
mod arena;
mod cli;

#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: arena::OneShot = arena::OneShot;

use clap::Parser;

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: the C runtime passes `argc` valid NUL-terminated strings in `argv`.
    if unsafe { names_serve(argc, argv) } {
        arena::use_system();
    }
    keep_standard_fds_open();
    // SAFETY: setting a signal's disposition to SIG_IGN has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // SAFETY: as above.
    let code = run(unsafe { arguments(argc, argv) });
    let _ = std::io::Write::flush(&mut std::io::stdout());
    code.into()
}

/// Whether an argument is `serve`, looked at before anything is allocated: the service frees what
/// it allocates and keeps the system allocator. (A folder named `serve` given to `--root` also
/// selects it, which costs only speed.)
///
/// # Safety
/// `argv` holds `argc` valid NUL-terminated strings.
#[cfg_attr(test, allow(dead_code))]
unsafe fn names_serve(argc: libc::c_int, argv: *const *const libc::c_char) -> bool {
    (1..argc.max(0) as usize).any(|i| {
        // SAFETY: i < argc, as the caller guarantees.
        let arg = unsafe { *argv.add(i) };
        // SAFETY: each argument is a NUL-terminated string.
        !arg.is_null() && unsafe { std::ffi::CStr::from_ptr(arg) }.to_bytes() == b"serve"
    })
}

/// The command line as `std::env::args_os` gives it under Rust's own `main`.
///
/// # Safety
/// `argv` holds `argc` valid NUL-terminated strings.
#[cfg_attr(test, allow(dead_code))]
unsafe fn arguments(
    argc: libc::c_int,
    argv: *const *const libc::c_char,
) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    (0..argc.max(0) as usize)
        .filter_map(|i| {
            // SAFETY: i < argc, as the caller guarantees.
            let arg = unsafe { *argv.add(i) };
            // SAFETY: each argument is a NUL-terminated string.
            (!arg.is_null()).then(|| {
                std::ffi::OsStr::from_bytes(unsafe { std::ffi::CStr::from_ptr(arg) }.to_bytes())
                    .to_os_string()
            })
        })
        .collect()
}

/// Opens /dev/null on any of descriptors 0, 1 and 2 that is closed, as Rust's runtime does.
#[cfg_attr(test, allow(dead_code))]
fn keep_standard_fds_open() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: `fds` is a valid array of three pollfd for the duration of the call.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for p in fds {
        if p.revents & libc::POLLNVAL != 0 {
            // SAFETY: a NUL-terminated path and plain flags; the descriptor is kept on purpose.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

#[cfg_attr(test, allow(dead_code))]
fn run(args: Vec<std::ffi::OsString>) -> u8 {
    let parsed = cli::Cli::parse_common(args.iter().cloned()).map(Ok);
    let cli = match parsed.unwrap_or_else(|| cli::Cli::try_parse_from(args)) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return 0;
            }
            // One line: clap's first line, without its usage block.
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("virtprobe: {first} (see `virtprobe --help`)");
            return 2;
        }
    };
    init_logging();
    match app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return 0;
            }
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("virtprobe: {msg}");
            2
        }
    }
}

fn init_logging() {
    // VIRTPROBE_LOG: a level (`info`) or per-target levels (`virtprobe=debug,warn`).
    let filter: tracing_subscriber::filter::Targets = std::env::var("VIRTPROBE_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::WARN)
        });
    let _ = tracing::subscriber::set_global_default(Lazy {
        filter,
        inner: std::sync::OnceLock::new(),
    });
}

/// The log subscriber, built when the first event or span that passes the filter arrives: a run
/// that logs nothing (the usual report, at the default level) does not pay for building it
/// (its span registry alone is a 32 KiB table) or for asking whether stderr is a terminal.
struct Lazy {
    filter: tracing_subscriber::filter::Targets,
    inner: std::sync::OnceLock<tracing::Dispatch>,
}

impl Lazy {
    fn inner(&self) -> &tracing::Dispatch {
        self.inner.get_or_init(|| {
            use tracing_subscriber::layer::SubscriberExt;
            tracing::Dispatch::new(
                tracing_subscriber::registry()
                    .with(
                        tracing_subscriber::fmt::layer()
                            .with_writer(std::io::stderr)
                            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
                    )
                    .with(self.filter.clone()),
            )
        })
    }
}

impl tracing::Subscriber for Lazy {
    fn register_callsite(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if self.filter.would_enable(meta.target(), meta.level()) {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        self.filter.would_enable(meta.target(), meta.level())
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        use tracing_subscriber::layer::Layer;
        Layer::<tracing_subscriber::Registry>::max_level_hint(&self.filter)
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.inner().new_span(span)
    }
    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.inner().record(span, values)
    }
    fn record_follows_from(&self, span: &tracing::span::Id, follows: &tracing::span::Id) {
        self.inner().record_follows_from(span, follows)
    }
    fn event(&self, event: &tracing::Event<'_>) {
        self.inner().event(event)
    }
    fn enter(&self, span: &tracing::span::Id) {
        self.inner().enter(span)
    }
    fn exit(&self, span: &tracing::span::Id) {
        self.inner().exit(span)
    }
    fn clone_span(&self, id: &tracing::span::Id) -> tracing::span::Id {
        self.inner().clone_span(id)
    }
    fn try_close(&self, id: tracing::span::Id) -> bool {
        self.inner().try_close(id)
    }
    fn current_span(&self) -> tracing_core::span::Current {
        self.inner().current_span()
    }
}
