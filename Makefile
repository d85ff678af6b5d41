# The two commands a newcomer needs (see README.md).
.PHONY: run test

run:  ## install what is missing and run the whole pipeline locally (Ctrl-C stops it; BROKERS=3: a Kafka cluster; ARGS="--routers 3 ...": more options, see `winback run --help`)
	./scripts/run.sh $(if $(BROKERS),--brokers $(BROKERS)) $(ARGS)

test:  ## lint, type-check and run every test, as CI does
	./scripts/test.sh
