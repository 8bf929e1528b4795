# kefu: the two commands of the README are `make run` and `make test`.
CARGO ?= cargo
KEFU_BIN ?= target/release/kefu
DIALPLAN ?= shop
export KEFU_BIN

.PHONY: run test deps models build release lint unit sip-tests torture scenarios baresip speech bench

## Build and start the agent on a bundled dialplan: DIALPLAN=shop (default), shop-zh, default, speech, or a file.
run: models release
	$(KEFU_BIN) serve --dialplan $(DIALPLAN) $(ARGS)

## Everything CI checks: format, lints, unit/property/simulation tests,
## SIPp scenarios, the RFC 4475 torture suite and a baresip call.
test: deps models lint unit sip-tests

## System packages the tests use (SIPp, baresip, sox, espeak-ng), when missing.
deps:
	bash sip-test/deps.sh

## Models and ONNX Runtime (models/manifest.tsv): fetched, converted and verified when missing.
models:
	bash models/fetch.sh

release:
	$(CARGO) build --release --locked --bin kefu

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked

sip-tests: release scenarios torture baresip speech

scenarios:
	bash sip-test/run-scenarios.sh

torture:
	bash sip-test/run-torture.sh

baresip:
	CODEC=g711 bash sip-test/baresip-call.sh
	CODEC=opus bash sip-test/baresip-call.sh

## A spoken question to the speech dialplan, and barge-in over SIP, with the real models.
speech:
	bash sip-test/speech-call.sh
	bash sip-test/barge-in.sh
	bash sip-test/shop-call.sh
	bash sip-test/crash.sh

## Benchmarks (figures go to BENCHMARKS.md): criterion, then SIPp load.
bench: release
	$(CARGO) bench -p kefu-core --bench media -- --warm-up-time 1 --measurement-time 3
	bash sip-test/load-cps.sh
	bash sip-test/load-concurrent.sh
	bash sip-test/voice-latency.sh
	bash sip-test/intent-asr.sh
	bash sip-test/voice-capacity.sh
	bash sip-test/wer.sh
