"""AWS's durable execution conformance suite, run against durable_async's handlers.

`python -m conformance` validates every requirement of `aws-durable-execution-conformance-tests`
on two backends: our embedded `MemoryBackend`, and AWS's local runner (`dex-local-runner`)
calling our handlers over HTTP. `conformance.handlers` holds one handler per requirement;
`conformance.backends` adapts each backend to the suite; `conformance.run` is the command.
See docs/conformance.md.
"""
