"""Benchmark: search latency, export throughput and export memory on a 100,000-article archive.

Builds a synthetic archive once (bulk inserts through SQLAlchemy Core, ~20% Arabic, then the
search index) and caches it under /tmp; reruns reuse it. Prints figures; asserts nothing.

``--postgres URL`` (a server's maintenance database, e.g. postgresql://127.0.0.1:5432/test)
also copies that archive's rows into a database of its own on the server
(``pressarchive_bench_research_N``, kept for reruns; ``--rebuild`` makes it again), builds
PostgreSQL's search index, vacuums it (as autovacuum would after such a load), and runs the
same searches there.

Usage: python bench/research.py [--articles 100000] [--repeat 5] [--rebuild] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from pressarchive.record import fingerprint  # noqa: E402
from pressarchive.research import index  # noqa: E402
from pressarchive.storage import Archive  # noqa: E402
from pressarchive.storage.models import Appearance, Article, Version  # noqa: E402

CACHE = Path("/tmp/pressarchive-bench")
SECTIONS = ["Politics", "Economy", "World", "Gulf", "Sport", "Culture", "Technology",
            "Health", "Opinion", "سياسة"]
# Topical words, placed in a Zipf vocabulary of ~30,000 word types (function words first,
# then these, then a long tail of made-up words), so that word frequencies look like news
# text: a common topical word is in a few tens of percent of articles, not in all of them.
EN_FUNCTION = "the of and to in a said on for that is with was by as at from it has".split()
EN = ("government minister president officials security talks oil prices market economy "
      "bank growth inflation election parliament vote crisis war peace agreement deal border "
      "refugees aid humanitarian united nations council sanctions trade exports energy gas "
      "pipeline investment budget deficit reform protest police court judge trial rights "
      "women education students university health hospital vaccine virus outbreak drought "
      "water climate summit delegation embassy foreign defence military forces attack "
      "ceasefire negotiations statement spokesman ministry region province capital city "
      "village airport port shipping tanker crude opec saudi egypt jordan lebanon syria iraq "
      "yemen kuwait qatar bahrain oman emirates morocco tunisia algeria libya sudan gaza "
      "israel iran turkey russia china washington europe africa afghanistan taliban "
      "kabul").split()
AR_FUNCTION = "في من على إلى أن عن مع هذا التي الذي قد كان بين بعد".split()
AR = ("الحكومة الْحُكُومَةُ الوزير الرئيس المسؤولين الأمن المحادثات النفط الأسعار السوق "
      "الاقتصاد البنك النمو التضخم الانتخابات البرلمان التصويت الأزمة الحرب السلام الاتفاق "
      "الحدود اللاجئين المساعدات الأمم المتحدة مجلس العقوبات التجارة الصادرات الطاقة الغاز "
      "الاستثمار الميزانية العجز الإصلاح الاحتجاج الشرطة المحكمة القاضي المحاكمة حقوق المرأة "
      "التعليم الطلاب الجامعة الصحة المستشفى اللقاح الفيروس الجفاف المياه المناخ القمة "
      "الوفد السفارة الخارجية الدفاع الجيش القوات الهجوم وقف إطلاق النار المفاوضات بيان "
      "المتحدث الوزارة المنطقة المحافظة العاصمة المدينة القرية المطار الميناء مصر السعودية "
      "الأردن لبنان سوريا العراق اليمن الكويت قطر البحرين عمان الإمارات المغرب تونس الجزائر "
      "ليبيا السودان غزة إيران تركيا روسيا الصين واشنطن أوروبا أفريقيا أفغانستان طالبان كابول "
      "قالت وقال أعلنت أكد وأضاف والحكومة للحكومة ٢٠٢١ ٢٠٢٢ مليون مليار").split()
EN_SYLLABLES = "ka ter mon ri sal ven do pra lis tor ne gan bel cro fi mar sen tu lo vra".split()
AR_LETTERS = list("بتثجحخدذرزسشصضطظعغفقكلمنهوي")
TYPES = 30_000


def vocabulary(function: list[str], topical: list[str], made_up) -> list[str]:
    """Words in rank order: function words, then topical words every 20 ranks among
    made-up ones, then made-up words to TYPES."""
    words = list(function)
    seen = set(words)
    for word in topical:
        while len(words) % 20:
            words.append(made_up(seen))
        words.append(word)
        seen.add(word)
    while len(words) < TYPES:
        words.append(made_up(seen))
    return words


def made_up_english(rng: random.Random):
    def make(seen: set[str]) -> str:
        while True:
            word = "".join(rng.choices(EN_SYLLABLES, k=rng.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                return word
    return make


def made_up_arabic(rng: random.Random):
    def make(seen: set[str]) -> str:
        while True:
            word = ("ال" if rng.random() < 0.4 else "") + "".join(
                rng.choices(AR_LETTERS, k=rng.randint(3, 5)))
            if word not in seen:
                seen.add(word)
                return word
    return make


QUERIES = [  # (query, filters): a fixed mix of common, rare, Arabic, phrase, prefix, filtered
    ("government", {}), ("oil prices", {}), ("tanker", {}), ("taliban kabul", {}),
    ('"the government"', {}), ("pipe*", {}), ("inflation OR deficit", {}),
    ("ceasefire negotiations", {"site": "saudipress"}), ("vaccine", {"since": "2024-01-01"}),
    ("drought water", {"section": "Health"}), ("election", {"until": "2020-06-30"}),
    ("الحكومة", {}), ("حكومة", {}), ("النفط الأسعار", {}), ("الْحُكُومَةُ", {}),
    ("كابول", {}), ('"من الحكومة"', {}), ("الميزانيه العجز", {"site": "arabpress"}),
    ("٢٠٢١", {}), ("qatar summit", {}),
]


def words(rng: random.Random, vocab: list[str], cum: list[float], n: int) -> list[str]:
    return rng.choices(vocab, cum_weights=cum, k=n)


def zipf(vocab: list[str]) -> list[float]:
    total, out = 0.0, []
    for rank in range(1, len(vocab) + 1):
        total += 1 / rank
        out.append(total)
    return out


def build(path: Path, articles: int, seed: int = 7) -> None:
    """Bulk-load ``articles`` articles (~10% with two versions, ~30% on both sites)."""
    rng = random.Random(seed)
    tmp = path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    archive = Archive(f"sqlite:///{tmp}")
    en = vocabulary(EN_FUNCTION, EN, made_up_english(rng))
    ar = vocabulary(AR_FUNCTION, AR, made_up_arabic(rng))
    en_cum, ar_cum = zipf(en), zipf(ar)
    start = dt.datetime(2019, 1, 1)
    span = (dt.datetime(2025, 6, 1) - start).total_seconds()
    version_id = 0
    appearance_id = 0
    started = time.perf_counter()
    batch = 10_000
    for first in range(1, articles + 1, batch):
        art_rows, ver_rows, app_rows = [], [], []
        for article_id in range(first, min(first + batch, articles + 1)):
            arabic = rng.random() < 0.2
            vocab, cum = (ar, ar_cum) if arabic else (en, en_cum)
            when = start + dt.timedelta(seconds=span * article_id / articles)
            seen = when + dt.timedelta(hours=rng.randint(0, 48))
            slug = f"story-{article_id}"
            headline = " ".join(words(rng, vocab, cum, rng.randint(6, 12))).capitalize()
            summary = " ".join(words(rng, vocab, cum, rng.randint(15, 30))) + "."
            body = "\n\n".join(" ".join(words(rng, vocab, cum, rng.randint(25, 60))) + "."
                               for _ in range(rng.randint(3, 6)))
            published = rng.random() < 0.85
            section = rng.choice(SECTIONS)
            art_rows.append({"id": article_id, "slug": slug, "first_seen": seen,
                             "last_seen": seen + dt.timedelta(days=1)})
            texts = [(headline, summary, body)]
            if rng.random() < 0.1:
                texts.append((headline, summary, body + "\n\nUpdate: " + " ".join(
                    words(rng, vocab, cum, 20)) + "."))
            for n, (h, s, b) in enumerate(texts):
                version_id += 1
                ver_rows.append({
                    "id": version_id, "article_id": article_id,
                    "fingerprint": fingerprint(h, s, b), "headline": h, "summary": s,
                    "body": b, "published_at": when.isoformat() + "+00:00" if published else None,
                    "published_utc": when if published else None, "modified_at": None,
                    "language": "ar" if arabic else "en", "authors": ["Staff"],
                    "section": section, "images": [], "sources": {"published_at": "jsonld"},
                    "extractor_version": "1", "first_seen": seen + dt.timedelta(hours=n),
                    "first_url": f"https://arabpress.com/{slug}"})
            sites = ["arabpress"] + (["saudipress"] if rng.random() < 0.3 else [])
            for site in sites:
                appearance_id += 1
                app_rows.append({
                    "id": appearance_id, "article_id": article_id, "version_id": version_id,
                    "site": site, "url": f"https://{site}.com/{slug}", "first_seen": seen,
                    "last_seen": seen + dt.timedelta(days=1), "times_seen": 2,
                    "page_date": seen.date().isoformat(),
                    "related": [{"title": "Related", "url": "https://arabpress.com/x"}]})
        with archive.engine.begin() as conn:
            conn.execute(insert(Article.__table__), art_rows)
            conn.execute(insert(Version.__table__), ver_rows)
            conn.execute(insert(Appearance.__table__), app_rows)
        print(f"  {min(first + batch - 1, articles):>7} articles "
              f"({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    loaded = time.perf_counter()
    indexed = index.rebuild(archive.engine)
    print(f"  indexed {indexed} versions in {time.perf_counter() - loaded:.0f}s",
          file=sys.stderr)
    with archive.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("ANALYZE")
    archive.close()
    tmp.rename(path)


def bench_search(archive: Archive, repeat: int) -> None:
    from pressarchive.research.search import search

    print(f"\nsearch: {len(QUERIES)} queries x {repeat} runs (limit 20, with snippets)")
    print(f"{'query':<42} {'hits':>5} {'median ms':>10}")
    times = []
    for query, filters in QUERIES:
        search(archive, query, **filters)  # warm the page cache
        runs = []
        for _ in range(repeat):
            t = time.perf_counter()
            hits = search(archive, query, **filters)
            runs.append((time.perf_counter() - t) * 1000)
        times += runs
        label = query + (f" {filters}" if filters else "")
        print(f"{label[:42]:<42} {len(hits):>5} {statistics.median(runs):>10.1f}")
    times.sort()
    p50 = statistics.median(times)
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    print(f"search p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 <= 20 ms)")


def export_child(db: Path, fmt: str, until: str | None, out: Path) -> None:
    """One export in this process: prints records, seconds and peak RSS as JSON."""
    from pressarchive.research.export import export
    from pressarchive.research.filters import Filters

    archive = Archive(f"sqlite:///{db}")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    manifest = export(archive, out, fmt, filters=Filters.make(until=until))
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    archive.close()
    print(json.dumps({"records": manifest["records"], "seconds": elapsed, "peak_kib": peak,
                      "base_kib": base, "bytes": manifest["bytes"]}))


def bench_export(db: Path, archive: Archive) -> None:
    # The date before which ~10,000 records lie (records come in date order here).
    with archive.engine.connect() as conn:
        cutoff = conn.exec_driver_sql(
            "SELECT coalesce(v.published_utc, a.first_seen) FROM appearances p "
            "JOIN versions v ON v.id = p.version_id JOIN articles a ON a.id = p.article_id "
            "ORDER BY 1 LIMIT 1 OFFSET 9999").scalar()
    print("\nexport (one process each; peak RSS = ru_maxrss, baseline = after imports)")
    print(f"{'format':<7} {'records':>8} {'seconds':>8} {'records/s':>10} {'MB':>7} "
          f"{'peak RSS MiB':>13} {'baseline MiB':>13}")
    for fmt in ("jsonl", "csv"):
        for until in ((str(cutoff),) if cutoff else ()) + (None,):
            out = CACHE / f"export.{fmt}"
            proc = subprocess.run([sys.executable, __file__, "--export-child", fmt,
                                   until or "", str(out), str(db)],
                                  capture_output=True, text=True, check=True)
            r = json.loads(proc.stdout)
            out.unlink(missing_ok=True)
            Path(f"{out}.manifest.json").unlink(missing_ok=True)
            print(f"{fmt:<7} {r['records']:>8} {r['seconds']:>8.1f} "
                  f"{r['records'] / r['seconds']:>10,.0f} {r['bytes'] / 1e6:>7.0f} "
                  f"{r['peak_kib'] / 1024:>13.0f} {r['base_kib'] / 1024:>13.0f}")


def postgres_copy(db: Path, server: str, articles: int, rebuild: bool) -> str:
    """The archive at ``db`` copied into a database of its own on ``server``, indexed; its
    URL. Kept between runs (its row count checked)."""
    import psycopg
    from sqlalchemy import select, text

    name = f"pressarchive_bench_research_{articles}"
    admin_url = make_url(server).set(drivername="postgresql")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_url.render_as_string(hide_password=False),
                         autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               (name,)).fetchone()
        if exists and not rebuild:
            archive = Archive(url)
            held = archive.counts()["articles"]
            archive.close()
            if held == articles:
                return url
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    print(f"copying {db} into {name} ...", file=sys.stderr)
    started = time.perf_counter()
    source, target = Archive(f"sqlite:///{db}"), Archive(url)
    with source.engine.connect() as reading, target.engine.begin() as writing:
        for table in (Article.__table__, Version.__table__, Appearance.__table__):
            rows = reading.execute(select(table).order_by(table.c.id)).mappings()
            while chunk := rows.fetchmany(10_000):
                writing.execute(insert(table), [dict(row) for row in chunk])
            writing.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"(SELECT max(id) FROM {table.name}))"))
    print(f"  copied in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    started = time.perf_counter()
    indexed = index.rebuild(target.engine)
    print(f"  indexed {indexed} versions in {time.perf_counter() - started:.0f}s",
          file=sys.stderr)
    source.close()
    target.close()
    # What autovacuum does to a table soon after a bulk load: without it the planner reads
    # every tsvector (a sequential scan) where the GIN index answers in a few milliseconds.
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--postgres", metavar="URL",
                        help="also search a copy on this PostgreSQL server")
    parser.add_argument("--export-child", nargs=4, metavar=("FMT", "UNTIL", "OUT", "DB"))
    args = parser.parse_args()
    if args.export_child:
        fmt, until, out, db = args.export_child
        export_child(Path(db), fmt, until or None, Path(out))
        return
    CACHE.mkdir(exist_ok=True)
    db = CACHE / f"research-v2-{args.articles}.sqlite"  # v2: the Zipf vocabulary
    if args.rebuild or not db.exists():
        print(f"building {db} ...", file=sys.stderr)
        t = time.perf_counter()
        build(db, args.articles)
        print(f"built in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    archive = Archive(f"sqlite:///{db}")
    counts = archive.counts()
    print(f"archive {db}: {counts['articles']} articles, {counts['versions']} versions, "
          f"{counts['appearances']} appearances, {db.stat().st_size / 1e6:.0f} MB")
    bench_search(archive, args.repeat)
    bench_export(db, archive)
    archive.close()
    if args.postgres:
        url = postgres_copy(db, args.postgres, args.articles, args.rebuild)
        print(f"\nthe same archive on PostgreSQL ({make_url(url).database})")
        archive = Archive(url)
        bench_search(archive, args.repeat)
        archive.close()


if __name__ == "__main__":
    main()
