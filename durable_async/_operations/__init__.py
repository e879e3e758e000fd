"""The durable operations, each written on the shared lifecycle (`_lifecycle`)."""
