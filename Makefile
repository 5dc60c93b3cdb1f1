# Convenience targets; the README's commands work without make.
.PHONY: build test bench

build:
	CGO_ENABLED=0 go build -o freezer ./cmd/freezer

test:
	bash scripts/test.sh

bench:
	bash scripts/bench.sh $(DIR)

.PHONY: bench-sim bench-plan
bench-sim:
	bash scripts/bench-sim.sh

bench-plan:
	bash scripts/bench-plan.sh
