"""One module per SDK: the same workloads written against each SDK's own API.

Each module defines `BENCHES`, a mapping from a workload's name to a function taking the
workload's parameters and returning its measurements (always `wall`, in seconds), and `warmup()`,
run once per process before the measured run. A workload an SDK cannot express is absent from its
`BENCHES`; the report shows it as not applicable.
"""
