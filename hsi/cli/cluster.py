"""``hsi cluster`` and ``hsi cluster-evaluate``: unsupervised class maps and their scores."""

from __future__ import annotations

import click

from hsi.check import MAX_SEED  # the largest seed: what scikit-learn accepts
from hsi.cli.options import device_option, guarded, var_option
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
        if k > MAX_K:
            self.fail(f"expected at most {MAX_K} clusters (a uint8 class map), got {k}", param,
                      ctx)
        return k


#: The most clusters a uint8 class map holds (``hsi.clustering.api.MAX_K``).
MAX_K = 255


#: ``cluster_file`` moved to :mod:`hsi.clustering.files`; still importable from here.
__getattr__, __dir__ = lazy_attributes(__name__, {"cluster_file": "hsi.clustering.files"})


@click.command("cluster")
@click.argument("cube", type=click.Path(exists=True))
@click.option("-k", "--clusters", "k", required=True, type=ClusterCount(),
              help="Number of clusters, or 'auto' (eigengap of the normalised Laplacian).")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="Class map GeoTIFF to write (.tif): uint8, 1..K, 0 = nodata.")
@click.option("--method", default="kmeans", show_default=True,
              type=click.Choice(METHODS, case_sensitive=False),
              help="Clustering method: kmeans and spectral (scikit-learn baselines), "
                   "spectralnet, cc (Contrastive Clustering), agc (graph convolution), mincut "
                   "(minCUT GNN), dinknet (Dink-Net).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, MAX_SEED),
              help="Random seed: the same seed gives the same map (on CPU).")
@device_option
@click.option("--confidence", type=click.Path(dir_okay=False), default=None,
              help="Also write per-pixel confidence in [0, 1], 0 on nodata (float32; format "
                   "from the extension: .tif, .hdr/.img ENVI or .mat).")
@click.option("--spectra", type=click.Choice(SPECTRA_CHOICES), default=SPECTRA,
              show_default=True,
              help="Features from the spectra's shape (unit norm) plus a brightness channel, "
                   "or from the raw spectra.")
@var_option
@guarded(outputs=("output", "confidence"), inputs=("cube",))
def cluster(cube, k, output, method, seed, device, confidence, var, spectra):
    """Cluster the pixels of CUBE into K clusters and write a uint8 class map to OUTPUT.

    The map has values 1..K (0 = nodata: pixels with a NaN band or all bands at the cube's
    nodata value), a colour table, the cube's CRS and transform, and tags naming the method,
    K and seed. Scenes above 512 x 512 pixels are fitted on a sample and assigned tile by
    tile (kmeans, spectralnet, cc, dinknet). Empty bands (all NaN or nodata) are left out of
    the features, with a warning naming them.
    """
    from hsi.clustering.files import cluster_file

    res = cluster_file(cube, k, output, method=method.lower(), seed=seed, device=device,
                       confidence=confidence, var=var, spectra=spectra)
    if res.criterion != "given":
        click.echo(f"k = {res.k} estimated by the {res.criterion}")
    sizes = ", ".join(f"{i + 1}: {int((res.labels == i + 1).sum())}" for i in range(res.k))
    unclustered = int((res.labels == 0).sum())
    nodata = f"; {unclustered} pixels without data, left 0" if unclustered else ""
    click.echo(f"wrote {output} ({res.method}, k={res.k}, {res.seconds:.1f} s; pixels per "
               f"cluster {sizes}{nodata})")
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
    from hsi.cli.classify import warn_fill_value
    from hsi.clustering import evaluate
    from hsi.errors import ShapeError, naming
    from hsi.io.labels import read_labels

    pred, pred_crs, pred_transform = read_labels(clusters)
    ground = read_labels(labels, var=var)
    truth, truth_crs, truth_transform = ground
    _check_same_grid(clusters, pred_crs, pred_transform, labels, truth_crs, truth_transform)
    if pred.shape != truth.shape:  # both files named, not "the labels'"
        raise ShapeError(f"{clusters}: the cluster map is {pred.shape[0]}×{pred.shape[1]}, the "
                         f"labels {labels} are {truth.shape[0]}×{truth.shape[1]}: give the "
                         "labels of the clustered scene", pred.shape, truth.shape)
    warn_fill_value(labels, ground, ground.class_names, "scored")  # an undeclared 255
    with naming(clusters=clusters, labels=labels):
        scores = evaluate(pred, truth)
    click.echo(f"ACC    {scores['acc']:.4f}")
    click.echo(f"NMI    {scores['nmi']:.4f}")
    click.echo(f"ARI    {scores['ari']:.4f}")
    click.echo(f"pixels {scores['pixels']}")


def _check_same_grid(clusters, crs_a, transform_a, labels, crs_b, transform_b) -> None:
    """Refuse to score two georeferenced maps that lie on different grids (another CRS, or
    another origin or pixel size): the pixels compared would not be the same ground."""
    from hsi.errors import GridError
    from hsi.labels import same_transform

    if crs_a is not None and crs_b is not None and crs_a != crs_b:
        raise GridError(f"{clusters}: CRS {crs_a} differs from the labels' ({labels}) "
                        f"{crs_b}: the maps are not on the same grid")
    if transform_a is not None and transform_b is not None \
            and not same_transform(transform_a, transform_b):  # in pixels, not map units
        raise GridError(f"{clusters}: georeference ({_grid(transform_a)}) differs from the "
                        f"labels' ({labels}: {_grid(transform_b)}): the maps are not on the "
                        f"same grid")


def _grid(transform) -> str:
    """A transform in words: its origin and pixel size."""
    return (f"origin {transform.c:.10g}, {transform.f:.10g}, pixel {transform.a:.10g} x "
            f"{-transform.e:.10g}")
