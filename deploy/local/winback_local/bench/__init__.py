"""The load harness: the pipeline measured at fixed rates by a compiled generator.

``python -m winback_local.bench`` (see :mod:`winback_local.bench.cli`). The pieces, one job each:

* :mod:`~winback_local.bench.deliveries`: pre-signed detractor requests, written to a file;
* :mod:`~winback_local.bench.loadgen`: builds and runs the Go generator (``deploy/loadgen``),
  reads what it recorded;
* :mod:`~winback_local.bench.stats`: percentiles and rates from those records (pure);
* :mod:`~winback_local.bench.probes`: CPU, RSS and router lag sampled while a step runs;
* :mod:`~winback_local.bench.settle`: before a consoles step, the wait for the refiner's backlog
  (pure; read by :func:`~winback_local.bench.probes.refiner_backlog`);
* :mod:`~winback_local.bench.bare_endpoint`: the HTTP ceiling, a FastAPI endpoint doing nothing;
* :mod:`~winback_local.bench.ceilings`: raw aiokafka and asyncpg, the Kafka and database ceilings;
* :mod:`~winback_local.bench.experiments`: calibration, ceilings, consoles and the rate sweep;
* :mod:`~winback_local.bench.report`: the tables (pure).
"""
