"""Pages under concurrent reads and writes on the embedded SQLite database: no request fails.

In WAL mode a transaction that read and then writes fails at once when another connection
wrote in between; reads are audited in a transaction of their own and form posts take the
write lock up front, so nothing here may answer 500.
"""

from __future__ import annotations

import re
import threading

from flask import Flask

from ..world import CaseBuilder
from .conftest import login


def test_reads_and_writes_at_once_never_fail(app: Flask, builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    statuses: list[int] = []
    lock = threading.Lock()

    def reader() -> None:
        with app.test_client() as client:
            login(client, "samordnare")
            for path in ["/", "/arenden", f"/arenden/{case.id}"] * 6:
                response = client.get(path)
                with lock:
                    statuses.append(response.status_code)

    def writer() -> None:
        with app.test_client() as client:
            login(client, "chef")
            for n in range(12):
                form = client.get(f"/arenden/{case.id}/barnets-rost").get_data(as_text=True)
                token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
                version = re.search(r'name="version" value="(\d+)"', form).group(1)  # type: ignore[union-attr]
                response = client.post(
                    f"/arenden/{case.id}/barnets-rost",
                    data={"csrf_token": token, "version": version, "child_voice": f"Version {n}"},
                )
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=reader) for _ in range(3)] + [
        threading.Thread(target=writer)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(statuses) == 3 * 18 + 12
    assert 500 not in statuses
    assert set(statuses) <= {200, 303}
