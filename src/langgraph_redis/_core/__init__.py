"""I/O-free layer: key layout, serialization, command planning and reply decoding.

Nothing under ``_core`` imports redis, awaits, or opens a socket, so every rule about
*which* commands to send and *what* the replies mean is testable without a server.
``checkpoint/`` holds the checkpointer's core and ``store/`` the store's; the modules
beside them serve both (plan types, reply normalisers, the probe) or the node cache,
inspector and migration. ``docs/design.md`` opens with a map of every file.
"""
