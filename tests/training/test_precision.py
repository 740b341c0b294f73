from pathlib import Path

from interlingua.training.precision import cpu_has_amx, precision_line

AMX_FLAGS = "flags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n"
NO_AMX_FLAGS = "flags\t\t: fpu avx2 avx512f avx512_bf16\n"


def test_amx_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    amx, plain = tmp_path / "amx", tmp_path / "plain"
    amx.write_text(AMX_FLAGS)
    plain.write_text(NO_AMX_FLAGS)  # bf16 vector instructions alone are not AMX
    assert cpu_has_amx(amx) and not cpu_has_amx(plain)
    assert not cpu_has_amx(tmp_path / "missing")


def test_the_precision_line_points_to_bf16_only_on_an_amx_cpu(tmp_path: Path) -> None:
    amx, plain = tmp_path / "amx", tmp_path / "plain"
    amx.write_text(AMX_FLAGS)
    plain.write_text(NO_AMX_FLAGS)
    assert precision_line(True, on_cpu=True, cpuinfo=amx) == "precision: bf16 autocast"
    assert "--bf16" in precision_line(False, on_cpu=True, cpuinfo=amx)
    assert precision_line(False, on_cpu=True, cpuinfo=plain) == "precision: fp32"
    assert precision_line(False, on_cpu=False, cpuinfo=amx) == "precision: fp32"  # a GPU run
