"""Load test on loopback: uploaders and searchers against gunicorn, a real Celery worker
and a private Redis, then a check that nothing was lost.

    .venv/bin/python -u bench/load.py --duration 60 [--checkpoint dlib_resnet_v1.pt]

Uses its own database (visage_load on the embedded server under VISAGE_DATA_DIR, or
BENCH_DATABASE_URL), its own Redis and a temporary MEDIA_ROOT; binds 127.0.0.1 only.
``--checkpoint`` makes that registered model (its file in models/) the active one there;
default: the active one, on a new database the mirror-averaged ``dlib_resnet_v1_mirror.pt``.

1. Reference: every album photo (../shared/datasets/albums) is processed serially in this
   process for a library user, whose bbt character faces are then named.
2. gunicorn (gthread) and one Celery worker on both queues start; every client signs in
   through the login page (CSRF cookie + form token) and keeps its session.
3. For --duration seconds, --uploaders clients post photos to their own album (each
   uploads --files-per-uploader distinct album photos, then the same files again, which
   the app answers as duplicates) while --searchers clients call the JSON API as the
   library user: similar faces (60 %), people by name (25 %), who-is-this (15 %). Every
   client runs a closed loop, one request at a time, each with a timeout.
4. The queue drains; every added photo must be done with as many faces as the serial run
   found in the same file, and no photo may exist that no upload reported.
Prints requests/s, p50/p95 latency per endpoint, errors and photos processed.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import bench_model_use, use_bench_database  # noqa: E402
from webapp.embedded import free_tcp_port, start_redis  # noqa: E402

PASSWORD = "load-test-password-123"
REQUEST_TIMEOUT_S = 60
SEARCH_MIX = (("similar", 0.60), ("people", 0.25), ("who-is-this", 0.15))
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--uploaders", type=int, default=20)
    parser.add_argument("--searchers", type=int, default=50)
    parser.add_argument("--files-per-uploader", type=int, default=12,
                        help="distinct photos each uploader adds (bounds the processing backlog)")
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--gunicorn-threads", type=int, default=8)
    parser.add_argument("--torch-threads", type=int, default=1, help="per process (worker and web)")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for the queue")
    parser.add_argument("--checkpoint", help="the registered model to embed with, by its file in models/ (default: the active one)")
    args = parser.parse_args()
    for name in ("duration", "uploaders", "searchers", "files_per_uploader", "gunicorn_workers",
                 "gunicorn_threads", "torch_threads", "drain_timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


# --- HTTP client --------------------------------------------------------------------------


class Client:
    """One browser-like session: a cookie jar and one request at a time."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            all_headers = dict(headers or {})
            if self.cookies:
                all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            data = response.read()
            for raw in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(raw)
                self.cookies.update({key: morsel.value for key, morsel in jar.items()})
            return response.status, dict(response.headers), data
        finally:
            conn.close()

    def login(self, username: str) -> None:
        self.request("GET", "/accounts/login/")
        form = urlencode({"username": username, "password": PASSWORD,
                          "csrfmiddlewaretoken": self.cookies["csrftoken"]}).encode()
        status, headers, _ = self.request("POST", "/accounts/login/", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in of {username} failed: HTTP {status}")

    def post_file(self, path: str, field_name: str, filename: str, data: bytes) -> tuple[int, bytes]:
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        status, _, payload = self.request("POST", path, body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Accept": "application/json",
            "X-CSRFToken": self.cookies["csrftoken"],  # rotated at sign-in; the jar has the new one
        })
        return status, payload


# --- load loops ---------------------------------------------------------------------------


@dataclass
class Sample:
    endpoint: str
    seconds: float
    ok: bool
    error: str = ""


@dataclass
class Shared:
    deadline: float
    samples: list[Sample] = field(default_factory=list)
    added: dict[int, str] = field(default_factory=dict)  # photo id -> uploaded file name
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def timed(shared: Shared, endpoint: str, call) -> object:
    start = time.perf_counter()
    try:
        result, error = call()
    except Exception as exc:  # a refused or timed-out request is an error, not a crash
        result, error = None, f"{type(exc).__name__}: {exc}"
    shared.record(Sample(endpoint, time.perf_counter() - start, not error, error))
    return result


def uploader_loop(client: Client, album_id: int, files: list[tuple[str, bytes]], shared: Shared) -> None:
    index = 0
    while time.monotonic() < shared.deadline:
        name, data = files[index % len(files)]
        index += 1

        def call():
            status, payload = client.post_file(f"/albums/{album_id}/upload/", "files", name, data)
            if status != 200:
                return None, f"HTTP {status}"
            [result] = json.loads(payload)["results"]
            if result["status"] not in ("added", "duplicate"):
                return None, f"{result['status']}: {result['message']}"
            return result, ""

        result = timed(shared, "upload", call)
        if result is not None and result["status"] == "added":
            with shared.lock:
                shared.added[result["photo_id"]] = name


def searcher_loop(client: Client, face_ids: list[int], names: list[str], probes: list[tuple[str, bytes]],
                  shared: Shared, seed: int) -> None:
    rng = random.Random(seed)
    endpoints, weights = zip(*SEARCH_MIX)
    while time.monotonic() < shared.deadline:
        endpoint = rng.choices(endpoints, weights)[0]
        if endpoint == "similar":
            path = f"/api/v1/faces/{rng.choice(face_ids)}/similar?limit=20"
            call = lambda: _expect_200(client.request("GET", path, headers={"Accept": "application/json"}))  # noqa: E731
        elif endpoint == "people":
            path = f"/api/v1/people?q={rng.choice(names)[: rng.randint(1, 3)]}"
            call = lambda: _expect_200(client.request("GET", path, headers={"Accept": "application/json"}))  # noqa: E731
        else:
            name, data = rng.choice(probes)
            call = lambda: _expect_200(client.post_file("/api/v1/who-is-this", "photo", name, data))  # noqa: E731
        timed(shared, endpoint, call)


def _expect_200(answer) -> tuple[object, str]:
    status = answer[0]
    return (answer, "") if status == 200 else (None, f"HTTP {status}")


# --- setup --------------------------------------------------------------------------------


def album_files(albums_dir: Path) -> list[Path]:
    files = sorted(p for p in albums_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SystemExit(f"no album photos under {albums_dir} (set FACES_DATA_DIR)")
    return files


def reference_run(files: list[Path]):
    """Process every file serially for the library user; return (user, faces per content
    hash, seconds)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from webapp.faces.models import Face
    from webapp.faces.services import photo_process
    from webapp.people.services import faces_name
    from webapp.photos.models import Photo
    from webapp.photos.services import album_create, photo_ingest

    user = get_user_model().objects.create_user(username="load-library", password=PASSWORD)
    album = album_create(owner=user, name="Reference")
    start = time.perf_counter()
    for path in files:
        with path.open("rb") as handle:
            outcome = photo_ingest(owner=user, album=album, source=handle, original_name=path.name)
        if outcome.status != "added":
            raise SystemExit(f"reference run could not add {path}: {outcome.message}")
        photo_process(photo_ids=[outcome.photo_id])
    seconds = time.perf_counter() - start
    faces_by_hash = {
        photo.content_hash: photo.face_count
        for photo in Photo.objects.filter(owner=user).annotate(face_count=Count("faces"))
    }
    # Name the characters so people search and guesses have answers.
    for folder in sorted({p.parent for p in files if p.parent.parent.name == "characters"}):
        ids = list(Face.objects.filter(owner=user, photo__original_name__in=[p.name for p in folder.iterdir()])
                   .values_list("pk", flat=True))
        if ids:
            faces_name(owner=user, face_ids=ids, name=folder.name.title())
    return user, faces_by_hash, seconds


def start_services(args, tmp: Path, env: dict) -> tuple[list[subprocess.Popen], int, list[Path]]:
    port = free_tcp_port()
    logs = [tmp / "worker.log", tmp / "gunicorn.log"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "gpu,long,celery", "--pool=solo",
         "--without-gossip", "--without-mingle", "--loglevel=INFO", "-n", f"load-{port}@%h"],
        cwd=ROOT, env=env, stdout=logs[0].open("w"), stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "webapp.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--worker-class", "gthread", "--workers", str(args.gunicorn_workers), "--threads", str(args.gunicorn_threads),
         "--timeout", "120", "--backlog", "512"],
        cwd=ROOT, env=env, stdout=logs[1].open("w"), stderr=subprocess.STDOUT,
    )
    processes = [worker, web]
    deadline = time.monotonic() + 120
    while True:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a server exited during start-up; see {logs}")
        web_up = _answers(port)
        worker_up = "ready." in logs[0].read_text(errors="replace")
        if web_up and worker_up:
            return processes, port, logs
        if time.monotonic() > deadline:
            raise RuntimeError(f"servers not ready after 120 s; see {logs}")
        time.sleep(0.5)


def _answers(port: int) -> bool:
    try:
        return Client(port).request("GET", "/accounts/login/")[0] == 200
    except OSError:
        return False


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- report -------------------------------------------------------------------------------


def report(samples: list[Sample], seconds: float) -> int:
    by_endpoint: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_endpoint[sample.endpoint].append(sample)
    print(f"\n{'endpoint':<12} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>6}")
    for endpoint in ["upload", *(name for name, _ in SEARCH_MIX)]:
        rows = by_endpoint.get(endpoint, [])
        if not rows:
            continue
        ms = np.array([s.seconds for s in rows]) * 1000
        errors = sum(not s.ok for s in rows)
        print(f"{endpoint:<12} {len(rows):>8} {len(rows) / seconds:>7.1f} {np.percentile(ms, 50):>8.0f} "
              f"{np.percentile(ms, 95):>8.0f} {ms.max():>8.0f} {errors:>6}")
    errors = [s for s in samples if not s.ok]
    print(f"{'all':<12} {len(samples):>8} {len(samples) / seconds:>7.1f}{'':>27} {len(errors):>6}")
    for message, count in Counter(s.error for s in errors).most_common(10):
        print(f"  error x{count}: {message}")
    return len(errors)


def drain_and_check(uploader_ids: list[int], shared: Shared, faces_by_hash: dict[str, int], timeout: float) -> int:
    """Wait for every uploaded photo to leave the queue; return the number of problems."""
    from django.db.models import Count

    from webapp.photos.models import Photo

    photos = Photo.objects.filter(owner_id__in=uploader_ids)
    start = time.monotonic()
    while (queued := photos.filter(status=Photo.Status.QUEUED).count()) and time.monotonic() - start < timeout:
        time.sleep(1)
    waited = time.monotonic() - start
    print(f"\nqueue drained {waited:.0f} s after the load ended" if not queued
          else f"\n{queued} photos still queued after waiting {waited:.0f} s")
    problems = 0
    rows = {p.pk: p for p in photos.annotate(face_count=Count("faces"))}
    missing = set(shared.added) - set(rows)
    unreported = set(rows) - set(shared.added)
    not_done = [p for p in rows.values() if p.status != Photo.Status.DONE]
    wrong_faces = [p for p in rows.values() if p.status == Photo.Status.DONE
                   and p.face_count != faces_by_hash.get(p.content_hash)]
    for label, items in (("added but missing", missing), ("present but never reported added", unreported),
                         ("not done", not_done), ("face count differs from the serial run", wrong_faces)):
        if items:
            problems += len(items)
            print(f"  LOST/WRONG: {len(items)} photo(s) {label}: {sorted(getattr(i, 'pk', i) for i in items)[:10]}")
    faces = sum(p.face_count for p in rows.values())
    print(f"{len(shared.added)} photos added by the uploaders, {len(rows)} stored, "
          f"{sum(p.status == Photo.Status.DONE for p in rows.values())} done with {faces} faces; problems: {problems}")
    return problems


def main() -> int:
    args = parse_args()
    data_dir = Path(os.environ.get("VISAGE_DATA_DIR", ROOT / "var"))
    tmp = Path(tempfile.mkdtemp(prefix="visage-load-", dir=data_dir if data_dir.is_dir() else None))
    redis = start_redis(tmp / "redis")
    processes: list[subprocess.Popen] = []
    try:
        os.environ.update({
            "REDIS_URL": redis.url,
            "VISAGE_MEDIA_ROOT": str(tmp / "media"),
            "VISAGE_TORCH_THREADS": str(args.torch_threads),
            "VISAGE_AUTO_GROUP": "0",  # grouping runs are their own benchmark (bench/people.py)
            "VISAGE_CELERY_EAGER": "0",
        })
        use_bench_database("visage_load")
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.utils import timezone

        from webapp.faces.models import Face
        from webapp.faces.selectors import embedding_model_active
        from webapp.photos.models import Photo
        from webapp.photos.services import album_create

        call_command("migrate", verbosity=0)
        User = get_user_model()
        User.objects.filter(username__startswith="load-").delete()  # a previous run's rows
        if args.checkpoint:  # no faces are left, so this only flips the active model
            bench_model_use(args.checkpoint, owner=None)
        model = embedding_model_active()
        print(f"model v{model.version} ({model.checkpoint})")

        files = album_files(Path(settings.FACES_DATA_DIR) / "albums")
        library, faces_by_hash, serial_s = reference_run(files)
        print(f"reference: {len(files)} album photos processed serially in {serial_s:.1f} s "
              f"({len(files) / serial_s:.1f} photos/s), {sum(faces_by_hash.values())} faces")
        face_ids = list(Face.objects.filter(owner=library).values_list("pk", flat=True))
        names = sorted({p.parent.name for p in files if p.parent.parent.name == "characters"}) or ["a"]
        probes = [(p.name, p.read_bytes()) for p in files if p.parent.parent.name == "characters"] or \
                 [(p.name, p.read_bytes()) for p in files]

        uploaders = []
        for i in range(args.uploaders):
            user = User.objects.create_user(username=f"load-up-{i:02d}", password=PASSWORD)
            rotation = files[i * 3 % len(files):] + files[: i * 3 % len(files)]
            mine = [(p.name, p.read_bytes()) for p in rotation[: args.files_per_uploader]]
            uploaders.append((user, album_create(owner=user, name="Load"), mine))

        processes, port, logs = start_services(args, tmp, dict(os.environ))
        print(f"gunicorn on 127.0.0.1:{port} ({args.gunicorn_workers} workers x {args.gunicorn_threads} threads), "
              f"one Celery worker, torch threads {args.torch_threads}; logs in {tmp}")
        clients = [Client(port) for _ in range(args.uploaders + args.searchers)]
        sign_in = time.perf_counter()
        _run_threads([lambda c=c, u=u: c.login(u.username) for c, (u, _, _) in zip(clients, uploaders)] +
                     [lambda c=c: c.login(library.username) for c in clients[args.uploaders:]], limit=8)
        print(f"{len(clients)} clients signed in ({time.perf_counter() - sign_in:.1f} s)")

        started_at = timezone.now()
        shared = Shared(deadline=time.monotonic() + args.duration)
        start = time.monotonic()
        workers = [lambda c=c, a=a.pk, f=f: uploader_loop(c, a, f, shared)
                   for c, (_, a, f) in zip(clients, uploaders)]
        workers += [lambda c=c, s=s: searcher_loop(c, face_ids, names, probes, shared, seed=s)
                    for s, c in enumerate(clients[args.uploaders:])]
        _run_threads(workers, limit=len(workers))  # each loop ends by the deadline + one request timeout
        elapsed = time.monotonic() - start
        uploader_ids = [u.pk for u, _, _ in uploaders]
        processed = Photo.objects.filter(owner_id__in=uploader_ids, processed_at__gte=started_at).count()
        print(f"\n{args.uploaders} uploaders + {args.searchers} searchers for {elapsed:.1f} s "
              f"(requested {args.duration:.0f} s); photos processed meanwhile: {processed} "
              f"({processed / elapsed:.1f}/s, {processed / elapsed / (len(files) / serial_s):.2f}x the serial reference)")
        errors = report(shared.samples, elapsed)
        problems = drain_and_check(uploader_ids, shared, faces_by_hash, args.drain_timeout)
        return 0 if errors == 0 and problems == 0 else 1
    finally:
        stop(processes)
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _run_threads(targets, *, limit: int) -> None:
    """Run callables on at most ``limit`` threads at once; re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=limit) as pool:
        for future in [pool.submit(target) for target in targets]:
            future.result()


if __name__ == "__main__":
    sys.exit(main())
