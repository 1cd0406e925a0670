"""State files are replaced whole, even when two writers refresh the same file at once."""

from __future__ import annotations

import threading

from headwater.local.state import write_atomically


def test_concurrent_writers_of_one_file_never_fail_or_leave_temporaries(tmp_path):
    # Two invocations of one function refresh its IAM spec together: with a shared temporary
    # name, one writer's replace moved the other's file away ("No such file or directory").
    target = tmp_path / "iam" / "fn.json"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        try:
            for i in range(200):
                write_atomically(target, f"{n}:{i}\n" * 100)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    lines = set(target.read_text().splitlines())
    assert len(lines) == 1, "a reader saw a mix of two writes"
    assert [p.name for p in target.parent.iterdir()] == ["fn.json"], "temporary files left behind"
