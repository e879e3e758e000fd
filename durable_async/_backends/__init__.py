"""The services the runtime talks to: the protocol, AWS, and the embedded emulation."""
