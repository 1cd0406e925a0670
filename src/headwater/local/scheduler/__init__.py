"""EventBridge Scheduler and scheduled EventBridge rules for the local mode: moto stores them but
never fires them.

``model`` turns a schedule as GetSchedule returns it into fire times, the target's payload with
its context attributes, and its retry policy (pure, no I/O); ``rules`` does the same for rules
with a schedule expression and AWS's scheduled event; ``delivery`` hands one fire to Lambda with
the schedule's execution role and writes the dead-letter event of one that failed; ``service``
is the component the runner starts, which reads schedules and rules from the emulator, fires
them when due and retries failed deliveries, on an injected clock.
"""
