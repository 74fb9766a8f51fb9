"""Checks of a file's version history after many writers appended to it."""

from __future__ import annotations

import itertools

from memspace.workspace import Workspace


def assert_history_is_every_append(workspace: Workspace, path: str, writes: int) -> None:
    """The history of ``path`` holds every content that was current, exactly once and in order.

    The file was created, then only appended to, one line at a time, by many writers (``writes``
    successful calls in all, the create included). So the versions, oldest first, must each add
    exactly one line to the one before; there must be one per write; none may repeat; and the
    newest must be the file as it is. A version that never became current (a lost race, a doubled
    write) would break the chain.
    """
    versions = workspace.history(path)
    assert not any(version.deleted for version in versions)
    assert versions[0].current
    assert len({version.id for version in versions}) == len(versions), "a version is shown twice"
    texts = [workspace.read_version(path, version.id) for version in reversed(versions)]
    assert len(texts) == writes, f"{len(texts)} versions for {writes} writes"
    for before, after in itertools.pairwise(texts):
        assert after.startswith(before), "a version that does not extend the one before it"
        added = after[len(before) :]
        assert added.count("\n") == (1 if before else 0) and added.strip(), f"not one line added: {added!r}"
    assert texts[-1] == workspace.read(path).text
