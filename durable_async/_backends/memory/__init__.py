"""The embedded durable execution service: executions, their operations and history."""
