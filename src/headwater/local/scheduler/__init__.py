"""EventBridge Scheduler for the local mode: moto stores schedules but never fires them.

``model`` turns a schedule as GetSchedule returns it into fire times and the target's payload
(pure, no I/O); ``service`` is the component the runner starts, which reads the schedules from
the emulator and invokes their Lambda targets when due, on an injected clock.
"""
