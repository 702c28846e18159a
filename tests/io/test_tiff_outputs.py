"""Outputs the tiled writers make are GeoTIFFs, so they must be named .tif / .tiff."""

from __future__ import annotations

import pytest

from hsi.errors import FormatError
from hsi.io.geotiff import check_tiff_output


@pytest.mark.parametrize("name", ["out.tif", "OUT.TIFF", "a.b.tif"])
def test_tiff_names_pass(tmp_path, name):
    assert check_tiff_output(tmp_path / name) == tmp_path / name


@pytest.mark.parametrize("name", ["out.hdr", "out.mat", "out.img", "out"])
def test_other_names_are_refused(tmp_path, name):
    with pytest.raises(FormatError, match=r"must end in \.tif"):
        check_tiff_output(tmp_path / name)


def test_cluster_file_refuses_an_envi_class_map_before_clustering(tmp_path):
    from hsi.clustering.files import cluster_file
    from hsi.data.shipped import CUBE_PATH

    with pytest.raises(FormatError, match=r"must end in \.tif"):
        cluster_file(CUBE_PATH, 3, tmp_path / "clusters.hdr", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_fuse_files_refuses_an_envi_name_before_reading(tmp_path):
    from hsi.fusion.scene import fuse_files

    with pytest.raises(FormatError, match=r"hsi convert"):
        fuse_files(tmp_path / "missing_lr.tif", tmp_path / "missing_msi.tif",
                   tmp_path / "fused.hdr", method="glp")
    assert list(tmp_path.iterdir()) == []


def test_the_cli_says_so_in_one_line(tmp_path):
    from click.testing import CliRunner

    from hsi.cli.main import cli

    lr, hr = tmp_path / "lr.tif", tmp_path / "hr.tif"
    lr.write_bytes(b"")
    hr.write_bytes(b"")
    result = CliRunner().invoke(cli, ["fuse", str(lr), str(hr), "-o",
                                      str(tmp_path / "fused.hdr"), "--method", "glp"])
    assert result.exit_code != 0
    assert "must end in .tif" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "fused.hdr").exists()
