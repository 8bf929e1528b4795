//! `kefu serve`: start everything, print the ready line, run until a signal.

use std::sync::Arc;
use std::time::Duration;

use kefu_core::call::CallSettings;
use kefu_core::engine::Config as EngineConfig;
use kefu_core::sdp::LocalCaps;
use kefu_core::Engine;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::journal::{self, Journal};
use crate::runtime::{media, metrics::Metrics, ports::PortPool, recorder};
use crate::storage::sqlite::SqliteStore;
use crate::storage::{now_millis, Store};

/// Runs the agent until SIGINT/SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let ready = crate::runtime::ready::Readiness::new();
    let plan = crate::dialplan::load(&settings.dialplan)?;
    ready.set_dialplan_loaded(true);
    ready.require_speech(plan.speech.is_some());
    tracing::info!(dialplan = %plan.source, prompts = plan.prompts.len(), "dialplan loaded");
    let detectors = speech_detectors(&plan, settings.media_workers)?;
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| anyhow::anyhow!("data dir {}: {e}", settings.data_dir.display()))?;
    let metrics = Metrics::new(settings.media_workers);
    let store = open_store(&settings)?;
    ready.set_store_open(true);
    match crate::api::ensure_admin_key(store.as_ref(), &settings.data_dir) {
        Ok(Some(path)) => tracing::info!(
            file = %path.display(),
            "no API keys yet: an admin key was created; its secret is in this file"
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot create the first admin API key"),
    }
    let cancel = CancellationToken::new();
    let dispatcher = crate::webhooks::Dispatcher::start(
        store.clone(),
        settings.webhooks.clone(),
        settings.webhook_retry,
        cancel.clone(),
    );
    let waker = dispatcher.waker();
    let hooks = dispatcher.monitor();
    {
        // The backlog gauge of each endpoint, for /metrics.
        let (hooks, metrics, cancel) = (hooks.clone(), metrics.clone(), cancel.clone());
        tokio::spawn(async move {
            loop {
                for s in hooks.status() {
                    metrics.set_webhook_backlog(&s.name, s.backlog.max(0) as u64);
                }
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        });
    }
    let (journal, journal_thread) = Journal::start(
        store.clone(),
        metrics.clone(),
        journal::Options {
            dialplan: plan_name(&settings.dialplan),
            data_dir: settings.data_dir.clone(),
            wake: Some(Arc::new(move || waker.wake())),
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot start the call journal: {e}"))?;
    let recorder = if settings.record {
        Some(
            recorder::spawn(
                settings.recordings_dir.clone(),
                metrics.clone(),
                Some(journal.clone()),
            )
            .map_err(|e| {
                anyhow::anyhow!("recordings dir {}: {e}", settings.recordings_dir.display())
            })?,
        )
    } else {
        None
    };
    let (lo, hi) = settings.rtp_ports;
    let pool = Arc::new(PortPool::bind(
        settings.sip_listen.ip(),
        lo,
        hi,
        settings.max_calls,
    )?);
    if pool.size() < settings.max_calls {
        tracing::warn!(
            pairs = pool.size(),
            max_calls = settings.max_calls,
            "RTP port range holds fewer pairs than max_calls; calls beyond it get 503"
        );
    }
    let prompts = Arc::new(plan.prompts);
    let now = std::time::Instant::now();
    let seed = rand::random::<u64>();
    let engines = (0..settings.media_workers)
        .map(|i| {
            let cfg = EngineConfig {
                caps: LocalCaps::default(),
                call: CallSettings {
                    jitter_depth_frames: (settings.jitter.as_millis() / 20).max(1) as u32,
                    symmetric_rtp: settings.symmetric_rtp,
                    record: settings.record,
                    media_timeout: settings.media_timeout,
                },
                answer_after: plan.answer_after,
                digits: plan.digits.clone(),
                speech: plan.speech.as_ref().map(|s| s.dialogue.clone()),
                flow: plan.flow.as_ref().map(|f| f.flow.clone()),
                voice: plan.speech.as_ref().map(|s| s.voice).unwrap_or_default(),
                seed: seed.wrapping_add(i as u64),
            };
            let mut engine = Engine::new(cfg, prompts.clone(), now);
            if let Some(d) = detectors.get(i) {
                engine.set_detectors(d.clone());
            }
            engine
        })
        .collect();
    let (up_tx, up_rx) = tokio::sync::mpsc::unbounded_channel();
    let scheduling = if settings.realtime_media {
        media::Scheduling::Realtime
    } else {
        media::Scheduling::Normal
    };
    let speech = media::SpeechSlot::default();
    let handle = media::spawn(
        engines,
        media::Shared {
            scheduling,
            pool,
            up: up_tx,
            recorder,
            metrics: metrics.clone(),
            speech: speech.clone(),
            log_pii: settings.log_pii,
            crm: crate::crm::Crm::new().map_err(|e| {
                anyhow::anyhow!("cannot start the HTTP client for CRM requests: {e}")
            })?,
            runtime: tokio::runtime::Handle::current(),
            journal: Some(journal.clone()),
        },
    )?;
    ready.set_media_workers_running(true);
    #[cfg(feature = "speech")]
    if let Some(sp) = &plan.speech {
        let pool = start_speech(sp, handle.clone(), &settings.data_dir)?;
        pool.observe(metrics.clone());
        ready.set_speech_loaded(true);
        let _ = speech.set(pool);
    }
    #[cfg(not(feature = "speech"))]
    if plan.speech.is_some() {
        anyhow::bail!(
            "dialplan {} needs speech: build kefu with the `speech` feature",
            plan.source
        );
    }
    let media_handle = handle.clone();
    let dialplans = plan.flow.as_ref().map(|f| {
        let status = Arc::new(std::sync::RwLock::new(crate::dialplan::watch::Status::new(
            f,
        )));
        crate::dialplan::watch::spawn(f.clone(), handle.clone(), status.clone(), cancel.clone());
        status
    });
    let signalling =
        crate::signalling::start(&settings, handle, up_rx, metrics.clone(), cancel.clone()).await?;
    ready.set_sip_bound(true);
    let sip = signalling.addr;
    let http = tokio::net::TcpListener::bind(settings.http_listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for HTTP on {}: {e}", settings.http_listen))?;
    let http_addr = http.local_addr()?;
    let mut api =
        crate::api::ApiState::new(store.clone(), metrics.clone(), settings.data_dir.clone())
            .with_webhooks(Arc::new(hooks))
            .with_readiness(ready.clone());
    if let (Some(status), Some(f)) = (dialplans, plan.flow.as_ref()) {
        if let Some(file) = f.files.first() {
            api = api.with_dialplan(status, file.clone());
        }
    }
    let app = crate::api::app(api);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(http, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    tracing::info!("kefu ready sip={sip} http={http_addr}");
    shutdown_signal().await;
    tracing::info!("shutting down");
    ready.set_draining(true);
    signalling.drain(Duration::from_secs(5)).await;
    cancel.cancel();
    // Recordings are finalized as their calls end; give the recorder a
    // moment for the last ones.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Media and speech threads end before the process does: ONNX Runtime's
    // globals are torn down at exit, under any session still running.
    tokio::task::spawn_blocking(move || {
        media_handle.stop();
        #[cfg(feature = "speech")]
        if let Some(pool) = speech.get() {
            pool.shutdown();
        }
    })
    .await
    .ok();
    // Every call record taken so far is committed before the process ends.
    drop(journal);
    tokio::task::spawn_blocking(move || journal_thread.finish())
        .await
        .ok();
    dispatcher.join().await;
    tracing::info!("stopped");
    Ok(())
}

/// Opens the database and closes the calls a stopped process left open
/// (outcome `interrupted`).
fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = SqliteStore::open(&settings.database)
        .map_err(|e| anyhow::anyhow!("database {}: {e}", settings.database.display()))?;
    let closed = store
        .close_interrupted(now_millis())
        .map_err(|e| anyhow::anyhow!("database {}: {e}", settings.database.display()))?;
    if !closed.is_empty() {
        tracing::warn!(
            calls = closed.len(),
            "calls in progress when kefu last stopped are recorded as interrupted"
        );
    }
    tracing::info!(database = %settings.database.display(), "database open");
    Ok(Arc::new(store))
}

/// The name calls are recorded under: a file's stem, or the bundled name.
fn plan_name(dialplan: &str) -> String {
    std::path::Path::new(dialplan)
        .file_stem()
        .map(|s| s.to_string_lossy().trim_end_matches(".faq").to_string())
        .unwrap_or_else(|| dialplan.to_string())
}

/// The speech detector of each media worker, for a speech dialplan that
/// listens with Silero: one model (one ONNX session) per worker, so workers
/// never wait on each other. Empty otherwise (calls use the energy VAD).
#[cfg(feature = "speech")]
fn speech_detectors(
    plan: &crate::dialplan::Loaded,
    workers: usize,
) -> anyhow::Result<Vec<Arc<dyn kefu_core::vad::DetectorFactory>>> {
    use crate::engines::silero::{default_model_path, SileroFactory, SileroModel};
    let Some(sp) = &plan.speech else {
        return Ok(Vec::new());
    };
    if sp.vad != crate::dialplan::VadKind::Silero {
        return Ok(Vec::new());
    }
    let path = default_model_path();
    (0..workers)
        .map(|_| {
            let model = SileroModel::load(&path)?;
            Ok(Arc::new(SileroFactory::new(Arc::new(model))) as Arc<_>)
        })
        .collect()
}

#[cfg(not(feature = "speech"))]
fn speech_detectors(
    _plan: &crate::dialplan::Loaded,
    _workers: usize,
) -> anyhow::Result<Vec<Arc<dyn kefu_core::vad::DetectorFactory>>> {
    Ok(Vec::new())
}

/// Loads the recognizer and the voice a speech dialplan names and starts the
/// pool that serves every call. A missing model stops start-up with the
/// file and the command that fetches it.
#[cfg(feature = "speech")]
fn start_speech(
    plan: &crate::dialplan::SpeechPlan,
    media: media::MediaHandle,
    data_dir: &std::path::Path,
) -> anyhow::Result<crate::runtime::speech::SpeechPool> {
    use crate::engines::asr::AsrOptions;
    use crate::engines::whisper::{WhisperConfig, WhisperRecognizer};
    let started = std::time::Instant::now();
    let path = crate::cli::transcribe::whisper_model_path(&plan.asr_model);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let asr = WhisperRecognizer::load(
        &path,
        WhisperConfig {
            workers,
            threads: 1,
            sized_window: !plan.asr_model.starts_with("tiny"),
        },
    )?;
    let tts = crate::engines::tts::open_voice(&plan.tts_voice)?;
    // The first synthesis of a voice is slow (ONNX Runtime warms up): do it
    // now, not on the first caller.
    let _ = tts.synthesize_all("Hello.");
    tracing::info!(
        model = %path.display(),
        voice = %plan.tts_voice,
        ms = started.elapsed().as_millis() as u64,
        "speech engines loaded"
    );
    let config = crate::runtime::speech::PoolConfig {
        asr_workers: workers,
        asr: AsrOptions {
            language: plan.language.clone(),
            deadline: Duration::from_secs(8),
        },
        cache: Some(crate::runtime::tts_cache::TtsCache::open(
            &data_dir.join("tts-cache"),
            &plan.tts_voice,
            2000,
        )?),
    };
    Ok(crate::runtime::speech::SpeechPool::start(
        Some(Arc::new(asr)),
        Some(Arc::from(tts)),
        config,
        media,
    )?)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
