"""I/O-free layer: key layout, serialization, command planning and reply decoding.

Nothing under ``_core`` imports redis, awaits, or opens a socket, so every rule about
*which* commands to send and *what* the replies mean is testable without a server.
"""
