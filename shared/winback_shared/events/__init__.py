"""Event contracts: one module per Kafka topic, past-tense names, a common envelope."""
