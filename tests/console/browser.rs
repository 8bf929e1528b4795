//! Headless Chromium for the console test: one run per page with a fresh
//! profile (`--dump-dom` or `--screenshot`), the charts' `data-points` of a
//! DOM dump, and screenshots decoded with the `png` crate to count the
//! pixels of the charts' series colours.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Chromium is (Debian's package).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The series colours of charts.js, as RGB.
const CHART_COLOURS: [[u8; 3]; 6] = [
    [0xe8, 0x59, 0x0c],
    [0x0c, 0x85, 0x99],
    [0x70, 0x48, 0xe8],
    [0xf0, 0x8c, 0x00],
    [0x2f, 0x9e, 0x44],
    [0xd6, 0x33, 0x6c],
];

/// Runs Chromium headless with `args` (a fresh profile each time) and
/// returns its standard output; fails after 90 s.
fn chromium(args: &[String]) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,1000",
            "--virtual-time-budget=8000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chromium");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    assert!(
        status.success(),
        "chromium failed ({status}) on {args:?}:\n{stderr}"
    );
    stdout
}

/// The DOM of `url` once its scripts have run.
pub fn dump_dom(url: &str) -> String {
    chromium(&["--dump-dom".into(), url.into()])
}

/// A 1280×1000 screenshot of `url`, saved as `file` and decoded.
pub fn screenshot(url: &str, file: &Path) -> Image {
    let _ = std::fs::remove_file(file);
    chromium(&[format!("--screenshot={}", file.display()), url.into()]);
    Image::read(file)
}

/// The `data-points` of every `<svg class="chart…">` in a DOM dump.
pub fn chart_points(dom: &str) -> Vec<i64> {
    dom.split("<svg")
        .skip(1)
        .filter_map(|tag| tag.split('>').next())
        .filter(|tag| tag.contains("class=\"chart"))
        .map(|tag| {
            tag.split("data-points=\"")
                .nth(1)
                .and_then(|v| v.split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(-1)
        })
        .collect()
}

/// A decoded screenshot, 8-bit RGB(A).
pub struct Image {
    pub width: usize,
    pub height: usize,
    channels: usize,
    pixels: Vec<u8>,
}

impl Image {
    fn read(path: &Path) -> Image {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("no screenshot {}: {e}", path.display()));
        let mut decoder = png::Decoder::new(BufReader::new(file));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().expect("PNG header");
        let mut pixels = vec![0; reader.output_buffer_size().expect("PNG size")];
        let info = reader.next_frame(&mut pixels).expect("PNG data");
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected screenshot colour type {other:?}"),
        };
        pixels.truncate(info.buffer_size());
        Image {
            width: info.width as usize,
            height: info.height as usize,
            channels,
            pixels,
        }
    }

    /// Pixels within 8 per channel of `rgb`.
    fn count(&self, rgb: [u8; 3]) -> usize {
        self.pixels
            .chunks_exact(self.channels)
            .filter(|p| (0..3).all(|c| p[c].abs_diff(rgb[c]) <= 8))
            .count()
    }

    /// Pixels of any chart series colour.
    pub fn chart_pixels(&self) -> usize {
        CHART_COLOURS.iter().map(|c| self.count(*c)).sum()
    }
}

/// `target/console-shots/`, created.
pub fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-shots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}
