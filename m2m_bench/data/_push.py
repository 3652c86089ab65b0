"""Publishing a version folder to the Hugging Face Hub (upload, then tag ``vX.Y.Z``)."""

from __future__ import annotations

from pathlib import Path

from ._manifest import verify_folder
from ._paths import version_dir


def push_version(
    repo_id: str, name: str, version: str, *, dry_run: bool = False, token: str | None = None
) -> list[str]:
    """Upload ``name`` at ``version`` to dataset repo ``repo_id`` and tag it ``v{version}``.

    Checksums are verified first. Returns the relative paths sent (or that would be sent).
    """
    folder: Path = version_dir(name, version)
    manifest = verify_folder(folder)
    paths = sorted(["manifest.json", *manifest["files"]])
    if dry_run:
        return paths
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    api.upload_folder(
        repo_id=repo_id,
        repo_type="dataset",
        folder_path=str(folder),
        commit_message=f"{name} {version}",
    )
    api.create_tag(repo_id, repo_type="dataset", tag=f"v{version}", tag_message=f"{name} {version}")
    return paths
