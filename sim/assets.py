"""Locations of the shipped simulation assets and the allow-list of trusted clip files.

The six reference clips and the T-pose come from IsaacGymEnvs (BSD-3) and were retargeted
from CMU mocap (see ``assets/SOURCE.txt`` and ``assets/licenses``). They are pickled numpy
dicts, so they are only opened after their SHA-256 matches the value recorded here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ASSET_DIR = Path(__file__).resolve().parent / "assets"
HUMANOID_XML = ASSET_DIR / "amp_humanoid.xml"
CLIP_DIR = ASSET_DIR / "clips"
DEMO_DIR = ASSET_DIR / "demo"

#: SHA-256 of every shipped pickle clip; anything else must use the .npz user format.
TRUSTED_CLIPS: dict[str, str] = {
    "walk": "da0de7141b71321cd1a0904e6d599f889ca6f51bc9a22919d4198b54322d1c5c",
    "run": "934bad013439019a7a20dea8d6644b3360d9e5619204afc3ee0f89b7699eb570",
    "dance": "a19bc29ee9751de7956f25744eafbee53c5679e79d322a55f1e7285935fdd965",
    "hop": "2f0e5cc4602464a74bbb9914a57a2862c5d76f36f8e39b8143d5374806ca77cd",
    "cartwheel": "a1811ebda7c780b81f1e982b0a61622aeebac8427c0f3c32f29fa04c859b8a2f",
    "backflip": "22352d14cb63611b834d4e179c14387665f07d90f23aaecc5ae2c755a1416445",
    "tpose": "38d052a3fbb16fc0c0e51e18657e6aa62949eaf446a37757428b4060ca546989",
}


def clip_path(name: str) -> Path:
    if name not in TRUSTED_CLIPS:
        raise KeyError(f"no shipped clip named {name!r}; shipped: {sorted(TRUSTED_CLIPS)}")
    return CLIP_DIR / f"amp_humanoid_{name}.npy"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
