//! Runs the real `kefu` binary as a child process with a time limit: a
//! child that hangs is killed after [`LIMIT`] and the test fails with what
//! it had printed, instead of the whole test run hanging.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest a child may run.
pub const LIMIT: Duration = Duration::from_secs(30);

/// What a finished child left.
#[derive(Debug)]
pub struct Finished {
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs `kefu ARGS` in `dir` with `stdin` as its standard input, waits
/// at most [`LIMIT`], and returns its exit code and output.
pub fn kefu(dir: &Path, args: &[&str], stdin: &str) -> Finished {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kefu");
    let mut input = child.stdin.take().expect("child stdin");
    let text = stdin.to_owned();
    // A writer thread: a child that stops reading must not block the test.
    let writer = thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
        // Dropping `input` closes the pipe: end of the caller's lines.
    });
    let stdout = drain(child.stdout.take().expect("child stdout"));
    let stderr = drain(child.stderr.take().expect("child stderr"));
    let code = wait(&mut child, args);
    let _ = writer.join();
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    match code {
        Ok(code) => Finished {
            code,
            stdout,
            stderr,
        },
        Err(()) => panic!(
            "kefu {args:?} ran over {LIMIT:?} and was killed\nstdout:\n{stdout}\nstderr:\n{stderr}"
        ),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The exit code, or `Err` when the child ran over the limit (it is then
/// killed and reaped).
fn wait(child: &mut Child, args: &[&str]) -> Result<Option<i32>, ()> {
    let deadline = Instant::now() + LIMIT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status.code()),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(());
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for kefu {args:?}: {e}"),
        }
    }
}
