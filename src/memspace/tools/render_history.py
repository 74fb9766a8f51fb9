"""What a model reads back from ``memory_history``: a file's versions, one version, a restore."""

from __future__ import annotations

from memspace.history import Version
from memspace.paths import VirtualPath
from memspace.tools.render import human_size

__all__ = ["MAX_VERSIONS_SHOWN", "render_restored", "render_versions"]

MAX_VERSIONS_SHOWN = 50


def render_versions(path: VirtualPath, versions: list[Version]) -> str:
    """The versions of ``path``, newest first, one line each, capped with a note."""
    shown = versions[:MAX_VERSIONS_SHOWN]
    lines = [f"Versions of {path}, newest first ({len(versions)}):"]
    for version in shown:
        when = version.time.strftime("%Y-%m-%d %H:%M:%S UTC")
        who = f"by {version.actor}" if version.actor else "by (unknown)"
        if version.deleted:
            what = (
                f"renamed to {version.renamed_to}" if version.renamed_to else f"deleted ({version.operation})"
            )
            lines.append(f"  {version.id}  {when}  {what}  {who}")
            continue
        where = f"  at {version.path}" if version.path != path else ""
        mark = "  (current)" if version.current else ""
        lines.append(
            f"  {version.id}  {when}  {version.operation:<11}  {human_size(version.size):>6}  {who}{where}{mark}"
        )
    if len(versions) > len(shown):
        lines.append(f"[{len(versions) - len(shown)} older versions not shown.]")
    lines.append(
        'To read one, call memory_history with action "view" and its version; to bring one back, '
        'action "restore".'
    )
    return "\n".join(lines)


def render_restored(path: VirtualPath, version_id: str, text: str, created: bool) -> str:
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    what = "Recreated" if created else "Restored"
    return (
        f"{what} {path} from version {version_id} ({lines} line{'s' if lines != 1 else ''}, "
        f"{len(text.encode()):,} bytes); what it replaced stays in its history."
    )
