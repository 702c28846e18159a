"""Outputs that are inputs, outputs given twice: refused before any work, inputs untouched."""

from __future__ import annotations

import fcntl
import os

import pytest

#: (case id, arguments with {name} for the files of ``work``, the input the error names)
SAME_FILE = [
    ("fuse_onto_lr", "fuse {cube} {msi} -o {cube} --method glp", "cube.tif"),
    ("fuse_onto_hr", "fuse {cube} {msi} -o {msi} --method glp", "msi.tif"),
    ("fuse_onto_model", "fuse {cube} {msi} --model {model} -o {model}", "model.pt"),
    ("predict_onto_cube", "classify predict {cube} --model {model} -o {cube}", "cube.tif"),
    ("predict_onto_model", "classify predict {cube} --model {model} -o {model}", "model.pt"),
    ("predict_probabilities_onto_cube",
     "classify predict {cube} --model {model} -o {d}/c.tif --probabilities {cube}", "cube.tif"),
    ("predict_uncertainty_onto_model",
     "classify predict {cube} --model {model} -o {d}/c.tif --uncertainty {model}", "model.pt"),
    ("train_onto_labels", "classify train {cube} {labels} -o {labels}", "labels.tif"),
    ("train_onto_cube", "classify train {cube} {labels} -o {cube}", "cube.tif"),
    ("evaluate_onto_classmap", "classify evaluate {classmap} {labels} -o {classmap}",
     "classmap.tif"),
    ("evaluate_onto_labels", "classify evaluate {classmap} {labels} -o {labels}", "labels.tif"),
    ("cluster_onto_cube", "cluster {cube} -k 3 -o {cube}", "cube.tif"),
    ("cluster_confidence_onto_cube", "cluster {cube} -k 3 -o {d}/c.tif --confidence {cube}",
     "cube.tif"),
    ("fusion_train_onto_cube", "fusion train {cube} -o {cube} --ratio 4 --sensor sentinel2",
     "cube.tif"),
    ("convert_onto_itself", "convert {cube} {cube}", "cube.tif"),
    ("convert_envi_header_onto_its_data", "convert {envi} {d}/envi.img", "envi"),
    ("fuse_onto_envi_data", "fuse {envi} {msi} -o {d}/envi.img --method glp", "envi"),
    ("cluster_onto_envi_header", "cluster {envi} -k 3 -o {d}/envi.hdr", "envi"),
]


def _args(template: str, work) -> list[str]:
    names = {k: str(v) for k, v in work.items()}
    names["d"] = str(work["cube"].parent)
    return template.format(**names).split()


@pytest.mark.parametrize("template,name", [c[1:] for c in SAME_FILE],
                         ids=[c[0] for c in SAME_FILE])
def test_output_equal_to_an_input_is_refused(template, name, work, run_hostile):
    line = run_hostile(_args(template, work), work["cube"].parent, (name,))
    assert "is the input" in line or "output is the input" in line


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_output_reaching_an_input_through_a_link(link, work, run_hostile):
    folder = work["cube"].parent
    alias = folder / "alias.tif"
    if link == "symlink":
        alias.symlink_to(work["cube"])
    else:
        os.link(work["cube"], alias)
    run_hostile(["cluster", work["cube"], "-k", 3, "-o", alias], folder, ("cube.tif",))
    run_hostile(["fuse", work["cube"], work["msi"], "-o", alias, "--method", "glp"], folder,
                ("cube.tif",))
    run_hostile(["convert", work["cube"], alias], folder, ("cube.tif",))


@pytest.mark.parametrize("out", ["c.tif", "c.hdr", "c.img"])
def test_an_output_name_that_is_a_folder(out, work, run_hostile):
    """Refused before anything is written: an ENVI output is two files (header and data),
    and a folder in the way of either is found before the first one is written."""
    folder = work["cube"].parent
    (folder / out).mkdir()
    line = run_hostile(["convert", work["cube"], folder / "c.hdr" if out != "c.tif" else
                        folder / out], folder, (out,))
    assert "is a folder" in line and ".part" not in line


def test_two_outputs_with_one_name(work, run_hostile):
    folder = work["cube"].parent
    out = folder / "c.tif"
    run_hostile(["cluster", work["cube"], "-k", 3, "-o", out, "--confidence", out], folder,
                ("c.tif", "two outputs"))
    run_hostile(["classify", "predict", work["cube"], "--model", work["model"], "-o", out,
                 "--probabilities", folder / "p.tif", "--uncertainty", out], folder,
                ("c.tif", "two outputs"))


def test_an_output_folder_that_is_a_file(work, run_hostile):
    folder = work["cube"].parent
    run_hostile(["cluster", work["cube"], "-k", 3, "-o", work["cube"] / "c.tif"], folder,
                ("cube.tif",))


def test_batch_output_folder_holding_an_input_of_the_same_name(work, run_hostile):
    folder = work["cube"].parent
    manifest = folder / "scenes.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\ncube,{work['cube'].name},{work['msi'].name}\n")
    run_hostile(["fuse-batch", manifest, "-o", folder, "--method", "glp"], folder,
                ("cube.tif", "is the input"))


def test_a_second_batch_on_a_locked_folder_stops_at_once(work, run_hostile, tmp_path):
    folder = work["cube"].parent
    manifest = folder / "scenes.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\nsc,{work['cube'].name},{work['msi'].name}\n")
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".hsi-batch.lock", "a+") as held:  # as a running batch holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        line = run_hostile(["fuse-batch", manifest, "-o", out, "--method", "glp"], tmp_path,
                           ("another batch", "--wait"))
    assert str(out) in line


@pytest.mark.parametrize("name", ["*", "a*b", "../up", ".hidden", "with space", "x/y"])
def test_unsafe_scene_names_are_refused(name, work, run_hostile):
    folder = work["cube"].parent
    manifest = folder / "scenes.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\n{name},{work['cube'].name},{work['msi'].name}\n")
    run_hostile(["fuse-batch", manifest, "-o", folder / "out", "--method", "glp"], folder,
                ("scene name",))


def test_tls_scheduler_needs_certificates(work, run_hostile):
    folder = work["cube"].parent
    manifest = folder / "scenes.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\nsc,{work['cube'].name},{work['msi'].name}\n")
    run_hostile(["fuse-batch", manifest, "-o", folder / "out", "--scheduler",
                 "tls://127.0.0.1:1"], folder, ("--tls-ca-file",))
    run_hostile(["fuse-batch", manifest, "-o", folder / "out", "--tls-cert", "c.pem"], folder,
                ("tls://",))
    run_hostile(["fuse-batch", manifest, "-o", folder / "out", "--scheduler",
                 "tls://127.0.0.1:1", "--tls-ca-file", folder / "ca.pem", "--tls-cert",
                 folder / "c.pem"], folder, ("ca.pem", "no such certificate"))


def test_folder_outputs_never_replace_the_input(work, run_hostile):
    folder = work["cube"].parent
    reference = folder / "reference.tif"
    work["cube"].rename(reference)
    run_hostile(["simulate", reference, "-o", folder, "--ratio", 2, "--sensor", "nikon_d700"],
                folder, ("reference.tif", "is the input"))
    train = folder / "train.tif"
    work["labels"].rename(train)
    run_hostile(["classify", "split", train, "-o", folder, "--per-class", 2], folder,
                ("train.tif", "is the input"))
