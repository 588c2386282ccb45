# rotaudit: `make demo` shows it working, `make test` runs every test. `make help` lists the rest.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
ENV ?= dev

.PHONY: help up down status reset demo test test-unit test-go e2e localstack-test tf-check tf-validate tf-plan \
	test-pg-majors bench-api bench-rotation bench-audit bench-backfill bench package image build vet fuzz clean \
	cost cost-readme cost-check aws-check busy-test

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

up: ## start PostgreSQL and the AWS emulator, load the schema, data and secrets (idempotent)
	@scripts/stack.sh up

down: ## stop the local stack (data is kept in .stack/)
	@scripts/stack.sh down

status: ## say what of the local stack is running
	@scripts/stack.sh status

reset: ## stop the local stack and delete its state
	@scripts/stack.sh reset

demo: ## bring the stack up and show the API, rotation under load and the audit alerts
	@scripts/demo.sh

test: ## every suite (Go on moto and LocalStack, e2e, PostgreSQL majors, Terraform), all failures at the end; stops what it started unless KEEP_STACK=1
	@scripts/test.sh

test-go: ## the Go tests on the default stack, then the version-dependent suites on PostgreSQL 13-18 (starts both; ROTAUDIT_PG_MAJORS=0 skips the majors)
	@scripts/test.sh go

e2e: ## the deployment end to end: terraform apply of envs/local to a fresh emulator, bootstrap, rotate under load, audit, destroy
	@scripts/e2e.sh

localstack-test: ## the Go tests and the deployment test on LocalStack 4.14.0, services driving the functions (own stack: installs it once, starts and stops it)
	@scripts/localstack-test.sh

test-unit: ## only the Go tests that need nothing running (go test -short)
	@go test -short -count=1 ./...

test-pg-majors: ## the rotation suites on PostgreSQL 13-18, one private cluster per major (PG_MAJORS=...)
	@scripts/pg-majors.sh test

aws-check: ## what AWS enforces and the emulators skip: every env and the org modules applied to a fresh moto, the code's calls evaluated (iam-simulate), network paths, access matrix (AWSCHECK_UPDATE=1 rewrites docs/aws-access.md)
	@scripts/aws-check.sh

tf-check: ## Terraform: fmt, tflint, checkov, HCL tests, validate + terraform test, no password in plan/state
	@scripts/tf-check.sh

tf-validate: ## Terraform validate on every root and example, terraform test of modules and dev/stage/prod plans
	@scripts/tf-validate.sh

tf-plan: ## Terraform plan for ENV=dev|stage|prod|local (needs the provider and credentials)
	@scripts/tf-plan.sh $(ENV)

cost: ## monthly cost of ENV=dev|stage|prod from its plan, per resource and in total (COST_FRESH=1 re-plans offline)
	@scripts/cost.sh $(ENV)

cost-readme: ## regenerate the cost tables and the audit plot in envs/README.md from the committed plans
	@go run ./cmd/rotaudit cost --readme envs/README.md --readme-plot envs/cost-audit-volume.png

cost-check: ## re-plan every environment offline; fail when the committed plans or the README's tables are stale
	@scripts/cost-plan.sh --check && go run ./cmd/rotaudit cost --readme envs/README.md --check

bench-api: ## API throughput and latency against the same query run alone in PostgreSQL
	@scripts/bench-api.sh

bench-rotation: ## rotation wall time against its floor; bootstrap cold start and RSS
	@scripts/bench-rotation.sh

bench-audit: ## audit replay throughput against a decode-only pass; memory as files grow
	@scripts/bench-audit.sh

bench-backfill: ## audit backfill through SQS FIFO to N auditors under aws-lambda-rie against one audit replay; cost per record
	@scripts/bench-backfill.sh

bench: bench-api bench-rotation bench-audit bench-backfill ## all benchmarks

busy-test: ## CI's run, RUNS times (3) from fresh clones while stress-ng keeps the cores busy
	@scripts/busy-test.sh

build: ## build the API, the operator CLI and the Lambda bootstraps for this machine into bin/
	@mkdir -p bin && go build -o bin/ ./service ./cmd/... && \
		for f in functions/*/; do go build -tags lambda.norpc -o "bin/$$(basename $$f)" "./$$f"; done

package: ## build the Lambda zips (linux/arm64 bootstrap, reproducible) into dist/
	@scripts/package.sh

image: ## build the API container image (needs a Docker engine)
	@docker build -f service/Dockerfile -t rotaudit-api:local .

vet: ## go vet and gofmt
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@go vet ./...

fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	@scripts/fuzz.sh

clean: ## delete build output
	@rm -rf bin dist
