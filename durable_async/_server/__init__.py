"""The local durable-functions server behind `durable-async serve` (see `durable_async.server`)."""
