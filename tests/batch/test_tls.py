"""``fuse-batch --scheduler tls://`` against a real TLS-only Dask cluster (certificates here)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


@pytest.fixture
def certificates(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    ca_key, ca, key, csr, cert = (tmp_path / n for n in
                                  ("ca.key", "ca.pem", "node.key", "node.csr", "node.pem"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out",
        ca, "-days", "1", "-subj", "/CN=hsikit-test-ca")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=localhost")
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "1", "-extfile", ext)
    return ca, cert, key


def test_batch_on_a_tls_only_cluster(certificates, tmp_path, scenes_dir):
    from distributed import LocalCluster
    from distributed.security import Security

    from hsi.batch import run_batch, tls_security

    ca, cert, key = certificates
    node = Security(tls_ca_file=str(ca), tls_scheduler_cert=str(cert),
                    tls_scheduler_key=str(key), tls_worker_cert=str(cert),
                    tls_worker_key=str(key), tls_client_cert=str(cert), tls_client_key=str(key),
                    require_encryption=True)
    manifest = tmp_path / "scenes.csv"
    manifest.write_text(f"name,lr_hsi,hr_msi\nsc,{scenes_dir / 'north_lr.tif'},"
                        f"{scenes_dir / 'north_hr.tif'}\n")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls://",
                      security=node, dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        report = run_batch(manifest, tmp_path / "out", method="glp",
                           scheduler=cluster.scheduler_address, progress=False,
                           security=tls_security(ca, cert, key))
    assert report.done == ["sc"] and (tmp_path / "out" / "sc.tif").is_file()
