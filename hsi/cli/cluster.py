"""``hsi cluster`` and ``hsi cluster-evaluate``: unsupervised class maps and their scores."""

from __future__ import annotations

import click

from hsi.cli.options import device_option, guarded, output_file_option, seed_option, var_option
from hsi.lazy import lazy_attributes

#: Clustering methods (``hsi.clustering.METHODS``, kept here so ``--help`` needs no torch).
METHODS = ("kmeans", "spectral", "spectralnet", "cc", "agc", "mincut", "dinknet")
#: ``--spectra`` choices and default (``hsi.clustering.features.SPECTRA_CHOICES``/``SPECTRA``).
SPECTRA_CHOICES = ("shape", "raw")
SPECTRA = "shape"


class ClusterCount(click.ParamType):
    """``-k``: an integer >= 2 or ``auto``."""

    name = "K|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or str(value).lower() == "auto":
            return value if isinstance(value, int) else "auto"
        try:
            k = int(value)
        except ValueError:
            self.fail(f"expected an integer >= 2 or 'auto', got {value!r}", param, ctx)
        if k < 2:
            self.fail(f"expected at least 2 clusters, got {k}", param, ctx)
        return k


#: ``cluster_file`` moved to :mod:`hsi.clustering.files`; still importable from here.
__getattr__, __dir__ = lazy_attributes(__name__, {"cluster_file": "hsi.clustering.files"})


@click.command("cluster")
@click.argument("cube", type=click.Path(exists=True))
@click.option("-k", "--clusters", "k", required=True, type=ClusterCount(),
              help="Number of clusters, or 'auto' (eigengap of the normalised Laplacian).")
@output_file_option
@click.option("--method", default="kmeans", show_default=True,
              type=click.Choice(METHODS, case_sensitive=False), help="Clustering method.")
@seed_option
@device_option
@click.option("--confidence", type=click.Path(dir_okay=False), default=None,
              help="Also write per-pixel confidence in [0, 1] (float32 GeoTIFF).")
@click.option("--spectra", type=click.Choice(SPECTRA_CHOICES), default=SPECTRA,
              show_default=True,
              help="Features from the spectra's shape (unit norm) plus a brightness channel, "
                   "or from the raw spectra.")
@var_option
@guarded(outputs=("output", "confidence"), inputs=("cube",))
def cluster(cube, k, output, method, seed, device, confidence, var, spectra):
    """Cluster the pixels of CUBE into K clusters and write a uint8 class map to OUTPUT.

    The map has values 1..K (0 = nodata), a colour table and the cube's CRS.
    """
    from hsi.clustering.files import cluster_file

    res = cluster_file(cube, k, output, method=method.lower(), seed=seed, device=device,
                       confidence=confidence, var=var, spectra=spectra)
    if res.criterion != "given":
        click.echo(f"k = {res.k} estimated by the {res.criterion}")
    sizes = ", ".join(f"{i + 1}: {int((res.labels == i + 1).sum())}" for i in range(res.k))
    click.echo(f"wrote {output} ({res.method}, k={res.k}, {res.seconds:.1f} s; pixels per "
               f"cluster {sizes})")
    if confidence is not None:
        click.echo(f"wrote {confidence} (mean confidence {res.confidence.mean():.3f})")


@click.command("cluster-evaluate")
@click.argument("clusters", type=click.Path(exists=True))
@click.argument("labels", type=click.Path(exists=True))
@var_option
def cluster_evaluate(clusters, labels, var):
    """Score the cluster map CLUSTERS against ground truth LABELS (0 = unlabelled).

    ACC uses the best one-to-one matching of clusters to classes (Hungarian algorithm); NMI
    and ARI need no matching. Only labelled, clustered pixels count.
    """
    from hsi.clustering import evaluate
    from hsi.errors import naming
    from hsi.io.labels import read_labels

    pred, _, _ = read_labels(clusters)
    truth, _, _ = read_labels(labels, var=var)
    with naming(clusters=clusters, labels=labels):
        scores = evaluate(pred, truth)
    click.echo(f"ACC    {scores['acc']:.4f}")
    click.echo(f"NMI    {scores['nmi']:.4f}")
    click.echo(f"ARI    {scores['ari']:.4f}")
    click.echo(f"pixels {scores['pixels']}")
