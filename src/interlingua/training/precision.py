"""Which precision a run trains in, and the one line it prints about it.

bf16 autocast pays on a CPU only where the CPU has matrix units for it: on this project's Intel
machine with AMX, the `tr` recipe trained 1.8x the pairs per CPU-second in bf16 and scored higher on
Tatoeba at the same budget; on an AMD EPYC without AMX the same step was 4x slower
(docs/benchmarks.md).  So fp32 stays the default everywhere, and a run on an AMX CPU says that
``--bf16`` is there.
"""

from __future__ import annotations

from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpu_has_amx(cpuinfo: Path = CPUINFO) -> bool:
    """Whether the CPU lists the AMX bf16 tile instructions (Linux; False where unknown)."""
    try:
        return "amx_bf16" in cpuinfo.read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False


def precision_line(bf16: bool, on_cpu: bool, cpuinfo: Path = CPUINFO) -> str:
    """The line a run prints at its start about its precision."""
    if bf16:
        return "precision: bf16 autocast"
    if on_cpu and cpu_has_amx(cpuinfo):
        return (
            "precision: fp32 (this CPU has AMX bf16 units: --bf16 trained 1.8x the pairs per "
            "CPU-second here, at an equal or better Tatoeba score; docs/benchmarks.md)"
        )
    return "precision: fp32"
