"""The checkpointer's core: key layout, serialization and the plans every saver sends.

:mod:`.saver` gathers the plans a saver calls, for the full and the shallow saver alike:
the shallow one passes ``shallow=True`` to ``plan_put`` and ``plan_put_writes`` (see
:mod:`.plans`) and shares every other plan, so there is one set of functions and no
variant that could lack one.
"""
